"""The firm table's fields: their names, dtypes and the value of a free slot (model.state.FirmTable,
and the kernels' view of it, model.kernels.FirmArrays)."""

import numpy as np

# field: (dtype, fill value for a free slot)
FIRM_FIELDS: dict[str, tuple[type, float]] = {
    "alive": (bool, False),
    "uid": (np.int64, -1),             # identity: the same firm has it in every run of a seed (model.keyed)
    "cluster": (np.int64, -1),
    "x": (np.int64, 0),
    "y": (np.int64, 0),
    "town": (np.int64, -1),
    "employees": (np.int64, 0),
    "capital": (np.float64, 0.0),
    "productivity": (np.float64, 0.0),
    "cash": (np.float64, 0.0),
    "age": (np.int64, 0),
    "birth_month": (np.int64, 0),
    "propensity": (np.float64, 0.0),   # cooperation propensity, fixed trait 0..1
    "prior_trust": (np.float64, 0.0),  # trust in a stranger 0..1 (generalised trust, learned from games)
    "record": (np.float64, -1.0),      # reputation: smoothed share of its own cooperative choices, -1 = none yet
    "member_benefit": (np.float64, 0.0),  # what membership gave it since the association's last yearly review
    "reached": (np.int64, 0),          # how a programme has reached it so far (bits: model.cda.REACHED)
    "trust_cda": (np.float64, 0.0),
    "exporter": (bool, False),
    "member": (bool, False),           # association member
    "revenue": (np.float64, 0.0),
    "profit": (np.float64, 0.0),
    "margin": (np.float64, 0.0),       # smoothed profit / revenue
    "output": (np.float64, 0.0),
    "exports": (np.float64, 0.0),
    "loan_payment": (np.float64, 0.0),
    "loan_left": (np.int64, 0),        # months of repayment left
    "discount_until": (np.int64, -1),  # joint purchasing discount valid through this month
    "export_until": (np.int64, -1),    # export access (marketing, promotion) through this month
    "subcontract_until": (np.int64, -1),
    "purchasing_group": (np.int64, -1),
    "marketing_group": (np.int64, -1),
    "consortium": (np.int64, -1),
    "facility_user": (bool, False),
    "supplier": (np.int64, -1),        # raw-material supplier used, -1 = open market
}
