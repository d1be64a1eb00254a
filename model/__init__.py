"""Khusheh's agent-based model of industrial cluster evolution (see docs/ODD.md).

>>> from model import ClusterModel, ModelParams, presets
>>> m = ClusterModel(rng=1).run()
>>> m.series().tail()
>>> cda = ClusterModel(ModelParams(policy=presets.policy("standard_cda")), rng=1).run()
"""

from . import presets
from .agents import ClusterDevelopmentAgent, Firm, Supplier, SupportInstitution
from .memory import keep_freed_memory
from .model import ClusterModel, parameter_names
from .observation import COLUMNS
from .params import ClusterSpec, ModelParams, ParameterError, PolicyParams, ShockParams

keep_freed_memory()  # freed arrays are reused, not faulted in afresh each month (see model/memory.py)

__all__ = [
    "COLUMNS", "ClusterDevelopmentAgent", "ClusterModel", "ClusterSpec", "Firm", "ModelParams",
    "ParameterError", "PolicyParams", "ShockParams", "Supplier", "SupportInstitution", "parameter_names",
    "presets",
]
