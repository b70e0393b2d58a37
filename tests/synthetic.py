"""Synthetic territories shaped like the real ones, for calibration and planted-effect tests.

Structure mimicked: ~300 zones d'emploi in ~95 clusters (départements), the
clusters nested in 13 régions; the treatment goes to whole clusters; the
outcome carries a région shock and a cluster shock (so neighbours resemble
each other: spatial dependence) plus two pre-shock controls. Import it from
a test as ``import synthetic`` (pytest puts ``tests/`` on the path).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

TRUE_CONTROL_SLOPES = (0.5, -0.3)


def synthetic_territories(
    seed: int,
    *,
    effect: float = 0.0,
    n_units: int = 300,
    n_clusters: int = 95,
    n_regions: int = 13,
    n_treated_clusters: int = 12,
    region_sd: float = 0.5,
    cluster_sd: float = 0.5,
    noise_sd: float = 1.0,
    selection: float = 0.0,
) -> pd.DataFrame:
    """One row per territory: ``territory_code``, ``reg_code``, ``cluster_code``,
    ``centroid_x``/``centroid_y`` (km), ``x1``, ``x2``, ``is_ptce_territory``, ``outcome``.

    ``outcome = effect·d + 0.5·x1 − 0.3·x2 + région shock + cluster shock + noise``.
    Treatment: ``n_treated_clusters`` whole clusters, drawn at random
    (``selection = 0``) or with odds rising with the cluster's mean ``x1``
    shock (``selection > 0``: treated clusters are the ones with a higher
    unobserved cluster shock too, so a naive comparison is biased while the
    effect is zero).
    """
    rng = np.random.default_rng(seed)
    cluster_region = np.concatenate(
        [np.arange(n_regions), rng.integers(0, n_regions, n_clusters - n_regions)]
    )
    # Every cluster gets at least one unit; the rest fall at random.
    unit_cluster = np.concatenate(
        [np.arange(n_clusters), rng.integers(0, n_clusters, n_units - n_clusters)]
    )
    region_centre = np.column_stack(
        [(np.arange(n_regions) % 4) * 250.0, (np.arange(n_regions) // 4) * 250.0]
    )
    cluster_centre = region_centre[cluster_region] + rng.normal(scale=60, size=(n_clusters, 2))
    centroid = cluster_centre[unit_cluster] + rng.normal(scale=20, size=(n_units, 2))
    region_shock = rng.normal(scale=region_sd, size=n_regions)
    cluster_shock = rng.normal(scale=cluster_sd, size=n_clusters)
    x1 = rng.normal(size=n_units) + 0.7 * cluster_shock[unit_cluster] / max(cluster_sd, 1e-9)
    x2 = rng.normal(size=n_units) + region_shock[cluster_region[unit_cluster]]
    if selection > 0:
        score = selection * cluster_shock / max(cluster_sd, 1e-9) + rng.gumbel(size=n_clusters)
        treated_clusters = np.argsort(-score)[:n_treated_clusters]
    else:
        treated_clusters = rng.choice(n_clusters, n_treated_clusters, replace=False)
    treated = np.isin(unit_cluster, treated_clusters).astype(int)
    outcome = (
        effect * treated
        + TRUE_CONTROL_SLOPES[0] * x1
        + TRUE_CONTROL_SLOPES[1] * x2
        + region_shock[cluster_region[unit_cluster]]
        + cluster_shock[unit_cluster]
        + rng.normal(scale=noise_sd, size=n_units)
    )
    return pd.DataFrame(
        {
            "territory_code": [f"T{i:03d}" for i in range(n_units)],
            "reg_code": [f"R{r:02d}" for r in cluster_region[unit_cluster]],
            "cluster_code": [f"C{c:02d}" for c in unit_cluster],
            "centroid_x": centroid[:, 0],
            "centroid_y": centroid[:, 1],
            "x1": x1,
            "x2": x2,
            "is_ptce_territory": treated,
            "outcome": outcome,
        }
    )


def synthetic_event_panel(
    seed: int,
    *,
    effect: float = 0.0,
    pretrend_slope: float = 0.0,
    first_event_time: int = -6,
    last_event_time: int = 6,
    **territory_options,
) -> pd.DataFrame:
    """Long panel (territory × event time) built on :func:`synthetic_territories`.

    ``y_it = α_i + δ_t + cluster×time shock + pretrend_slope·d_i·t·1[t<0]
    + effect·d_i·1[t≥0] + noise``: with ``pretrend_slope ≠ 0`` the treated
    drift apart before the shock (a pre-trend), with 0 they do not.
    """
    rng = np.random.default_rng(seed + 10_000)
    units = synthetic_territories(seed, **territory_options)
    times = np.arange(first_event_time, last_event_time + 1)
    clusters = units["cluster_code"].unique()
    cluster_time = pd.DataFrame(
        rng.normal(scale=0.3, size=(len(clusters), len(times))), index=clusters, columns=times
    )
    rows = units[["territory_code", "cluster_code", "reg_code", "is_ptce_territory"]].merge(
        pd.DataFrame({"event_time": times}), how="cross"
    )
    d = rows["is_ptce_territory"].to_numpy()
    t = rows["event_time"].to_numpy()
    unit_effect = rows["territory_code"].map(
        dict(zip(units["territory_code"], rng.normal(size=len(units)), strict=True))
    )
    shock = cluster_time.stack().rename("shock").rename_axis(["cluster_code", "event_time"])
    rows = rows.merge(
        shock.reset_index(), on=["cluster_code", "event_time"], validate="many_to_one"
    )
    rows["outcome"] = (
        unit_effect.to_numpy()
        + 0.2 * t
        + rows["shock"].to_numpy()
        + pretrend_slope * d * t * (t < 0)
        + effect * d * (t >= 0)
        + rng.normal(scale=0.5, size=len(rows))
    )
    return rows.drop(columns="shock")
