"""The key of the tie between firm slots i < j: ``i * KEY_BASE + j`` (model.state, model.kernels)."""

import numpy as np

KEY_BASE = np.int64(1) << 32
