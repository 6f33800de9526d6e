"""Job side (PyTorch): adaptive data loader, data-parallel wrapper, profiler, checkpoints.

Entry point: :class:`AdaptiveTrainer` (see its module for the training-loop shape). Exit code
:data:`EXIT_PREEMPTED` (75) means "stopped on SIGTERM after writing a checkpoint".
"""

from adaptsched.train.batching import BatchConfig, choose_config, initial_config
from adaptsched.train.checkpoint import CheckpointError, CheckpointStore
from adaptsched.train.distributed import Topology, init_distributed
from adaptsched.train.hints import Hints, HintSink, JsonFileSink, NullSink
from adaptsched.train.noise import NoiseScaleEstimator, NormSample
from adaptsched.train.sampler import ElasticSampler, Shard
from adaptsched.train.scaling import (
    ScalingRule,
    adascale_gain,
    default_rule_for,
    get_scaling_rule,
    scaling_rule_names,
)
from adaptsched.train.signals import EXIT_PREEMPTED, Preempted
from adaptsched.train.trainer import AdaptiveTrainer

__all__ = [
    "EXIT_PREEMPTED",
    "AdaptiveTrainer",
    "BatchConfig",
    "CheckpointError",
    "CheckpointStore",
    "ElasticSampler",
    "HintSink",
    "Hints",
    "JsonFileSink",
    "NoiseScaleEstimator",
    "NormSample",
    "NullSink",
    "Preempted",
    "ScalingRule",
    "Shard",
    "Topology",
    "adascale_gain",
    "choose_config",
    "default_rule_for",
    "get_scaling_rule",
    "init_distributed",
    "initial_config",
    "scaling_rule_names",
]
