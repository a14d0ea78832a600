"""`tf.distribute` for the trainers: strategy choice, who writes files, the replicated step.

Keras 3 `Model.fit` fails under `MultiWorkerMirroredStrategy` (keras-team/keras#20585:
"Attempt to convert a value (PerReplica...)"), so every strategy, the default one
included, trains the GAN and SegNet with one loop (`training.loop`): `strategy.run` of a
trainer's own replica step inside a `tf.function` (`make_train_step`).
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from typing import Callable, Mapping

import keras
import tensorflow as tf

from tf_esgan.training.config_sections import STRATEGIES
from tf_esgan.training.fused_adam import FusedAdam


def make_strategy(name: str) -> tf.distribute.Strategy:
    """The `tf.distribute` strategy called `name` (see `config_sections.STRATEGIES`).

    "multi_worker" reads the cluster from the TF_CONFIG environment variable.
    """
    if name == "default":
        return tf.distribute.get_strategy()
    if name == "mirrored":
        return tf.distribute.MirroredStrategy()
    if name == "multi_worker":
        if not os.environ.get("TF_CONFIG"):
            raise ValueError("strategy 'multi_worker' needs the TF_CONFIG environment variable "
                             "(cluster and task of this worker), which is not set")
        return tf.distribute.MultiWorkerMirroredStrategy()
    raise ValueError(f"strategy must be one of {STRATEGIES}, got {name!r}")


def is_chief(strategy: tf.distribute.Strategy) -> bool:
    """Whether this process writes checkpoints and summaries (worker 0 or the chief)."""
    resolver = getattr(strategy, "cluster_resolver", None)
    if resolver is None or not resolver.task_type:
        return True
    cluster = json.loads(os.environ.get("TF_CONFIG", "{}")).get("cluster", {})
    if "chief" in cluster:
        return resolver.task_type == "chief"
    return resolver.task_type == "worker" and resolver.task_id == 0


class WriteDir:
    """Where this worker writes: the real folder on the chief, a temporary one elsewhere.

    Under MultiWorkerMirroredStrategy every worker must take part in saving (a save may
    need collective ops), but only the chief's files are kept; the others write to a
    temporary folder that `cleanup()` deletes (the usual TF pattern).
    """

    def __init__(self, folder: str | os.PathLike, chief: bool):
        self.chief = chief
        self.path = str(folder) if chief else tempfile.mkdtemp(prefix="esgan-worker-")

    def cleanup(self) -> None:
        if not self.chief:
            shutil.rmtree(self.path, ignore_errors=True)


class ReplicaMeanAdam(FusedAdam):
    """Adam (one fused kernel per variable, `fused_adam`) for a replica's share of the batch.

    Keras 3 all-reduces replica gradients with SUM before applying them, while each
    replica's loss is a mean over its own share; dividing the loss by the number of
    replicas makes the applied gradient that of the mean over the global batch, as with
    one device. With one replica this is plain Adam.
    """

    def scale_loss(self, loss):
        loss = super().scale_loss(loss)
        replicas = tf.distribute.get_strategy().num_replicas_in_sync
        return loss / replicas if replicas > 1 else loss


def make_train_step(replica_step: Callable[[object], Mapping[str, tf.Tensor]], strategy: tf.distribute.Strategy,
                    *, jit_compile: bool = False) -> Callable[[object], dict[str, tf.Tensor]]:
    """A `tf.function` (distributed batch) -> loss terms averaged over the replicas.

    Args:
      replica_step: one replica's update on its share of a global batch; returns loss
        terms that are means over that share (so their replica mean is the batch mean).
      strategy: runs `replica_step` on every replica.
      jit_compile: XLA-compile `replica_step` (`strategy.run` itself stays outside XLA).
    """
    if jit_compile:
        replica_step = tf.function(replica_step, jit_compile=True)

    @tf.function
    def train_step(batch):
        terms = strategy.run(replica_step, args=(batch,))
        return {name: strategy.reduce(tf.distribute.ReduceOp.MEAN, value, axis=None)
                for name, value in terms.items()}

    return train_step


def distribute(dataset: tf.data.Dataset, strategy: tf.distribute.Strategy) -> object:
    """The dataset split over replicas; every worker reads all files and keeps its share."""
    options = tf.data.Options()
    # Our dataset starts from a list of file names, not files TF can shard by: DATA
    # sharding makes each worker keep its slice of every global batch.
    options.experimental_distribute.auto_shard_policy = tf.data.experimental.AutoShardPolicy.DATA
    return strategy.experimental_distribute_dataset(dataset.with_options(options))
