"""Runs exported SavedModels in a process that imports only tensorflow (as TF Serving would).

    python fresh_loader.py <plan.json>

plan.json: {"models": {key: {"dir": ..., "inputs": {signature: {input: npy path}}}},
            "wrong_size": {key: {"signature": ..., "input": ..., "npy": ...}}, "out": npz path}
Writes to `out`: "<key>/<loader>/<signature>/<output>" arrays for loaders "tf1" (the
Session loader TF Serving uses) and "tf2" (tf.saved_model.load), "<key>/wrong_size" (the
error text, as a 0-d string array) and "modules" (project modules that got imported).
"""

import json
import sys

import numpy as np
import tensorflow as tf


def run_tf1(export_dir, inputs):
    results = {}
    graph = tf.Graph()
    with graph.as_default(), tf.compat.v1.Session(graph=graph) as session:
        meta_graph = tf.compat.v1.saved_model.load(session, ["serve"], export_dir)
        for name, feeds in inputs.items():
            signature = meta_graph.signature_def[name]
            feed_dict = {signature.inputs[key].name: np.load(path) for key, path in feeds.items()}
            fetches = {key: tensor.name for key, tensor in signature.outputs.items()}
            results[name] = session.run(fetches, feed_dict)
    return results


def run_tf2(export_dir, inputs):
    loaded = tf.saved_model.load(export_dir)
    return {name: {key: value.numpy() for key, value in loaded.signatures[name](
        **{key: tf.constant(np.load(path)) for key, path in feeds.items()}).items()}
        for name, feeds in inputs.items()}


def main(plan_path):
    with open(plan_path) as stream:
        plan = json.load(stream)
    arrays = {}
    for key, model in plan["models"].items():
        for loader, run in (("tf1", run_tf1), ("tf2", run_tf2)):
            for signature, outputs in run(model["dir"], model["inputs"]).items():
                for output, value in outputs.items():
                    arrays[f"{key}/{loader}/{signature}/{output}"] = value
    for key, case in plan.get("wrong_size", {}).items():
        loaded = tf.saved_model.load(plan["models"][key]["dir"])
        try:
            loaded.signatures[case["signature"]](**{case["input"]: tf.constant(np.load(case["npy"]))})
            message = "no error"
        except tf.errors.InvalidArgumentError as error:
            message = error.message
        arrays[f"{key}/wrong_size"] = np.array(message)
    project = sorted(name for name in sys.modules if name.split(".")[0] in ("tf_esgan", "keras"))
    arrays["modules"] = np.array(" ".join(project))
    np.savez(plan["out"], **arrays)


if __name__ == "__main__":
    main(sys.argv[1])
