"""Finds ops that call back into Python, which TF Serving's C++ runtime cannot run."""

from __future__ import annotations

import os
from pathlib import Path

from tensorflow.core.protobuf import saved_model_pb2

#: Ops created by tf.numpy_function / tf.py_function / tf.compat.v1.py_func.
PYTHON_OPS = frozenset({"PyFunc", "PyFuncStateless", "EagerPyFunc"})


def saved_model_op_types(export_dir: str | os.PathLike) -> set[str]:
    """Every op type in a SavedModel: all meta graphs' nodes and function libraries."""
    path = Path(export_dir) / "saved_model.pb"
    saved_model = saved_model_pb2.SavedModel()
    saved_model.ParseFromString(path.read_bytes())
    op_types = set()
    for meta_graph in saved_model.meta_graphs:
        graph = meta_graph.graph_def
        op_types.update(node.op for node in graph.node)
        for function in graph.library.function:
            op_types.update(node.op for node in function.node_def)
    return op_types


def python_ops(export_dir: str | os.PathLike) -> set[str]:
    """The Python-callback op types present in a SavedModel (empty set if servable)."""
    return saved_model_op_types(export_dir) & PYTHON_OPS
