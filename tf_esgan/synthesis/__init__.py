"""Synthetic datasets: random nuclei masks -> conditioning maps -> generated images.

- `job.py`: the `esgan-synthesize` job (`SynthesisConfig`, `synthesize`, shards);
- `synthetic_set.py`: the output folder, its config.json and what may extend it;
- `pipeline.py`: masks drawn ahead of the generator and pairs written behind it.

    from tf_esgan.synthesis import SynthesisConfig, synthesize
"""

from tf_esgan.synthesis.job import ID_FORMAT, SynthesisConfig, random_pair, synthesize, tf_config_shard

__all__ = ["ID_FORMAT", "SynthesisConfig", "random_pair", "synthesize", "tf_config_shard"]
