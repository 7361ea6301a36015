"""Node positions computed in Python, so pages draw at once with physics off.

``forceatlas2`` is a numpy ForceAtlas2 (exact repulsion below a few hundred nodes, a
grid/FFT approximation above: about 2 s at 3,000 nodes, where networkx's took a minute);
``hierarchical`` puts the funding chain in rows; ``timeline`` places projects by start
date. Node radii and label boxes live here too, because positions keep labels apart.
Everything is seeded: the same graph gives the same positions.
"""

from __future__ import annotations

import math
import re
import textwrap

import networkx as nx
import numpy as np

from .errors import UsageError
from .network import simple_graph

SEED = 20240229
LAYOUTS = ("forceatlas2", "hierarchical", "timeline")


MIN_RADIUS, MAX_RADIUS = 9.0, 36.0
EDGE_LENGTH = 70.0
NODE_AREA = (5 * MIN_RADIUS) ** 2  # page area per node, at least
ASPECT = 1.5  # width / height the force-directed pictures aim at
LABEL_BOX_LIMIT = 400  # up to this many nodes, labels are kept from overlapping
LABEL_WIDTH, LABEL_LINES = 26, 3

# Rows of the hierarchical layout, top to bottom; every other class goes to the last row.
HIERARCHY = {"Fund": 0, "OperatingBudget": 0, "FundingProgramme": 1, "ProgrammePriority": 2,
             "ProgrammeMeasure": 3, "Project": 4}
TIMELINE_NAMES = {
    "pl": ("pod projektami, których dotyczą (bez dat)", "bez daty"),
    "en": ("under the projects they touch (not dated)", "no date"),
}
ROW_NAMES = {
    "pl": ("źródło finansowania", "program", "priorytet", "działanie", "projekt", "organizacja"),
    "en": ("funding source", "programme", "priority", "measure", "project", "organisation"),
}


def radii(values: dict[str, float]) -> dict[str, float]:
    """Node radius in page pixels: area grows with the measure, from MIN to MAX_RADIUS."""
    top = max(values.values(), default=0.0)
    if top <= 0:
        return {node: MIN_RADIUS + 3.0 for node in values}
    return {node: MIN_RADIUS + (MAX_RADIUS - MIN_RADIUS) * math.sqrt(max(v, 0.0) / top)
            for node, v in values.items()}


def short_label(text: str) -> str:
    """The label drawn on the canvas: wrapped, at most LABEL_LINES lines (the tooltip has it all)."""
    lines = textwrap.wrap(text, LABEL_WIDTH, break_long_words=True) or [""]
    if len(lines) > LABEL_LINES:
        lines = lines[:LABEL_LINES]
        lines[-1] = lines[-1][: LABEL_WIDTH - 1].rstrip() + "…"
    return "\n".join(lines)


def font_size(radius: float) -> int:
    return min(round(14 + (radius - MIN_RADIUS) * 0.25), 20)


def positions(graph, view, radius: dict[str, float]):
    """Positions plus guide lines (year ticks, row names) for the chosen layout."""
    if view.layout not in LAYOUTS:
        raise UsageError(f"layout must be one of {', '.join(LAYOUTS)}, not '{view.layout}'")
    if graph.number_of_nodes() == 0:
        return {}, {"vertical": [], "horizontal": []}
    lang = graph.graph.get("lang", "pl")
    if view.layout == "hierarchical":
        return _hierarchical(graph, radius, lang)
    if view.layout == "timeline":
        return _timeline(graph, radius, lang)
    return _force_directed(graph, radius), {"vertical": [], "horizontal": []}


def _force_directed(graph, radius: dict[str, float]) -> dict[str, tuple[float, float]]:
    """ForceAtlas2 per connected component, labels kept apart, components packed in rows."""
    simple = simple_graph(graph)
    boxes = label_boxes(graph, radius) if len(simple) <= LABEL_BOX_LIMIT else None
    placed = []
    components = sorted((sorted(c) for c in nx.connected_components(simple)), key=lambda c: (-len(c), c[0]))
    for component in components:
        sub = simple.subgraph(component)
        index = {node: i for i, node in enumerate(component)}
        # (a subgraph view of a few nodes iterates a set: fix each edge's orientation by index)
        pairs = sorted((min(index[u], index[v]), max(index[u], index[v]), d["weight"])
                       for u, v, d in sub.edges(data=True))
        ei = np.array([p[0] for p in pairs], dtype=np.int64)
        ej = np.array([p[1] for p in pairs], dtype=np.int64)
        ew = np.array([p[2] for p in pairs], dtype=float)
        positions = forceatlas2(len(component), ei, ej, ew, seed=SEED)
        positions = _to_pixels(positions, ei, ej)
        r = np.array([radius[node] for node in component])
        if boxes is not None:
            size = np.array([boxes[node][0] for node in component])
            offset = np.array([boxes[node][1] for node in component])
            positions = spread_boxes(positions, size, offset, gap=8.0)
        else:
            positions = spread(positions, r, gap=6.0)
        placed.append((component, positions))
    return _pack(placed, radius, boxes)


def _to_pixels(positions: np.ndarray, ei: np.ndarray, ej: np.ndarray) -> np.ndarray:
    """Scale to page pixels: a typical edge EDGE_LENGTH long, and room for every node's disc."""
    n = len(positions)
    if n < 2:
        return positions * 0.0
    scale = 1.0
    if len(ei):
        typical = float(np.median(np.linalg.norm(positions[ei] - positions[ej], axis=1)))
        scale = EDGE_LENGTH / max(typical, 1e-9)
    extent = np.ptp(positions, axis=0) + 1e-9
    crowded = math.sqrt(n * NODE_AREA / float(extent[0] * extent[1]))  # FA2 packs leaves around hubs tightly
    return positions * max(scale, crowded)


def label_boxes(graph, radius: dict[str, float]) -> dict[str, tuple[tuple[float, float], tuple[float, float]]]:
    """Each node's footprint on the page: its disc plus the label under it (size, centre offset)."""
    footprint = {}
    for node in graph:
        r = radius[node]
        font = font_size(r)
        lines = short_label(str(graph.nodes[node].get("label", node))).split("\n")
        width = max(2 * r, max(len(line) for line in lines) * font * 0.56)
        height = 2 * r + 4 + len(lines) * font * 1.15
        footprint[node] = ((width, height), (0.0, height / 2 - r))
    return footprint


def _pack(placed, radius, boxes) -> dict[str, tuple[float, float]]:
    """Components side by side in rows, largest first, into a roughly 3:2 rectangle."""
    frames = []
    for component, positions in placed:
        if boxes is not None:
            half = np.array([[boxes[n][0][0] / 2, boxes[n][0][1] / 2] for n in component])
            centre = positions + np.array([boxes[n][1] for n in component])
        else:
            half = np.array([[radius[n], radius[n]] for n in component])
            centre = positions
        low, high = (centre - half).min(axis=0), (centre + half).max(axis=0)
        frames.append((component, positions - low, high - low))
    area = sum(float(size[0] * size[1]) for _, _, size in frames)
    row_width = max(max(float(size[0]) for _, _, size in frames), math.sqrt(area * 1.5))
    result: dict[str, tuple[float, float]] = {}
    x = y = row_height = 0.0
    margin = 40.0
    for component, positions, size in frames:
        if x > 0 and x + size[0] > row_width:
            x, y, row_height = 0.0, y + row_height + margin, 0.0
        for node, (px, py) in zip(component, positions):
            result[node] = (float(px + x), float(py + y))
        x += float(size[0]) + margin
        row_height = max(row_height, float(size[1]))
    xy = np.array([result[node] for node in sorted(result)])
    # Stretch (never shrink) towards a 3:2 landscape, the shape of a browser window: it
    # only lengthens distances, so nothing that was apart starts to overlap.
    width, height = np.ptp(xy, axis=0) + 1.0
    if width / height > ASPECT * 1.1:
        xy[:, 1] *= min((width / height) / ASPECT, 2.5)
    elif width / height < ASPECT / 1.4:
        xy[:, 0] *= min((height / width) * ASPECT / 1.4, 2.5)
    xy -= xy.mean(axis=0)
    return {node: (float(x), float(y)) for node, (x, y) in zip(sorted(result), xy)}


def _hierarchical(graph, radius, lang: str):
    """Rows fund → programme → priority → measure → project → organisation, ordered by barycentres."""
    simple = simple_graph(graph)
    boxes = label_boxes(graph, radius)
    rank = {node: HIERARCHY.get(graph.nodes[node].get("group"), 5) for node in simple}
    used = sorted(set(rank.values()))
    row_of = {node: used.index(rank[node]) for node in simple}
    rows = [sorted((n for n in simple if row_of[n] == r),
                   key=lambda n: (graph.nodes[n].get("label", ""), n)) for r in range(len(used))]
    order = {node: float(i) for row in rows for i, node in enumerate(row)}

    def sweep(row_indices, step):
        for r in row_indices:
            def key(node, r=r):
                near = [order[m] for m in simple[node] if row_of[m] == r + step]
                return (sum(near) / len(near) if near else order[node], order[node], node)
            rows[r].sort(key=key)
            for i, node in enumerate(rows[r]):
                order[node] = float(i) - (len(rows[r]) - 1) / 2

    for _ in range(6):  # barycentre sweeps down and up: fewer crossings
        sweep(range(1, len(rows)), -1)
        sweep(range(len(rows) - 2, -1, -1), +1)
    # x: each row packed by its labels' widths, then pulled towards its neighbours above and below.
    x: dict[str, float] = {}
    for row in rows:
        x.update(zip(row, _packed([boxes[n][0][0] for n in row], gap=18.0)))
    for _ in range(4):
        for r, row in enumerate(rows):
            wanted = []
            for node in row:
                near = [x[m] for m in simple[node] if abs(row_of[m] - r) == 1]
                wanted.append(sum(near) / len(near) if near else x[node])
            x.update(zip(row, _separated(wanted, [boxes[n][0][0] for n in row], gap=18.0)))
    positions, guides, y = {}, [], 0.0
    names = ROW_NAMES.get(lang, ROW_NAMES["en"])
    for r, row in enumerate(rows):
        top = max(radius[n] for n in row)
        y += top
        positions.update({node: (x[node], y) for node in row})
        guides.append({"y": y - top, "label": names[used[r]]})  # named above the row's top edge
        y += max(boxes[n][0][1] for n in row) - top + 60.0
    return positions, {"vertical": [], "horizontal": guides}


def _packed(widths: list[float], *, gap: float) -> list[float]:
    """Centres of boxes laid side by side, the whole row centred on 0."""
    centres, edge = [], 0.0
    for width in widths:
        centres.append(edge + width / 2)
        edge += width + gap
    shift = (edge - gap) / 2
    return [c - shift for c in centres]


def _separated(wanted: list[float], widths: list[float], *, gap: float) -> list[float]:
    """Positions as close to ``wanted`` as a left-to-right and a right-to-left pass allow, in order."""
    n = len(wanted)
    if n == 0:
        return []
    need = [(widths[i] + widths[i + 1]) / 2 + gap for i in range(n - 1)]
    forward = list(wanted)
    for i in range(1, n):
        forward[i] = max(forward[i], forward[i - 1] + need[i - 1])
    backward = list(wanted)
    for i in range(n - 2, -1, -1):
        backward[i] = min(backward[i], backward[i + 1] - need[i])
    return [(a + b) / 2 for a, b in zip(forward, backward)]


def _year(text: str | None) -> float | None:
    """'2019-12' or '2019-12-01' or '2019' as a fractional year."""
    match = re.match(r"(\d{4})(?:-(\d{2}))?(?:-(\d{2}))?", text or "")
    if not match:
        return None
    year, month, day = int(match[1]), int(match[2] or 1), int(match[3] or 1)
    return year + (month - 1) / 12 + (day - 1) / 365


def _lanes(items: list[tuple[float, str]], widths: dict[str, float], gap: float) -> dict[str, int]:
    """Greedy lanes: each item (x, node) goes to the first lane with room for its box."""
    ends: list[float] = []
    lane_of = {}
    for x, node in sorted(items):
        left = x - widths[node] / 2
        for lane, end in enumerate(ends):
            if left - end >= gap:
                ends[lane] = x + widths[node] / 2
                lane_of[node] = lane
                break
        else:
            ends.append(x + widths[node] / 2)
            lane_of[node] = len(ends) - 1
    return lane_of


def _timeline(graph, radius, lang: str):
    """Projects along x by start date, undated ones one tick step after the last year, under a
    tick of their own; the rest below, under the projects they touch, in a band named above
    its top edge, where the year ticks do not reach: nothing reads as dated that is not."""
    px_per_year, gap = 120.0, 12.0
    simple = simple_graph(graph)
    boxes = label_boxes(graph, radius)
    widths = {n: boxes[n][0][0] for n in simple}
    lane_height = max(boxes[n][0][1] for n in simple) + 14.0
    starts = {n: _year(graph.nodes[n].get("start")) for n in simple if graph.nodes[n].get("group") == "Project"}
    dated = {n: t for n, t in starts.items() if t is not None}
    t0 = math.floor(min(dated.values())) if dated else 0.0
    t1 = max(dated.values()) if dated else 0.0
    step = _year_step(math.ceil(t1) - t0 + 1)
    last_tick = t0 + step * math.ceil((math.ceil(t1) - t0) / step)  # at or after the last start
    x = {n: (t - t0) * px_per_year for n, t in dated.items()}
    undated_x = (last_tick - t0 + step) * px_per_year if dated else 0.0
    undated = sorted(n for n in starts if n not in dated)
    for i, node in enumerate(undated):
        x[node] = undated_x + i * 200.0
    projects = _lanes([(x[n], n) for n in starts], widths, gap)
    positions = {n: (x[n], projects[n] * lane_height) for n in starts}
    band = (max(projects.values()) + 1) * lane_height + 70.0 if projects else 0.0
    # Everything else: x at the mean of its placed neighbours, spreading outwards step by step.
    rest = sorted(n for n in simple if n not in positions)
    placed = dict(x)
    while True:
        spread = {}
        for node in rest:
            if node not in placed:
                near = [placed[m] for m in simple[node] if m in placed]
                if near:
                    spread[node] = sum(near) / len(near)
        if not spread:
            break
        placed.update(spread)
    end = max(placed.values(), default=0.0)
    for i, node in enumerate(n for n in rest if n not in placed):
        placed[node] = end + 200.0 * (i + 1)
    lanes = _lanes([(placed[n], n) for n in rest], widths, gap)
    positions.update({n: (placed[n], band + lanes[n] * lane_height) for n in rest})
    names = TIMELINE_NAMES.get(lang, TIMELINE_NAMES["en"])

    def top_edge(nodes) -> float:
        return min(positions[n][1] - radius[n] for n in nodes)

    guides = {"horizontal": [], "vertical": []}
    if not starts:
        return positions, guides  # no time axis: nothing to name
    if rest:
        guides["horizontal"].append({"y": top_edge(rest), "label": names[0]})
    bottom = top_edge(rest) - 30.0 if rest else max(y for _, y in positions.values()) + lane_height
    years = range(int(t0), int(last_tick) + 1, step) if dated else []
    ticks = [((year - t0) * px_per_year, str(year)) for year in years]
    ticks += [(undated_x, names[1])] if undated else []
    guides["vertical"] = [{"x": tick, "y0": top_edge(starts) - 30.0, "y1": bottom, "label": label}
                          for tick, label in ticks]
    return positions, guides


def _year_step(span: float) -> int:
    """Years between ticks: each year up to 16, then every second or fifth."""
    return 1 if span <= 16 else 2 if span <= 32 else 5


# ForceAtlas2 (Jacomy et al. 2014) on numpy. networkx's forceatlas2_layout computes all
# n² forces per step (64 s at 3,000 nodes); here repulsion is exact only between nodes
# in neighbouring grid cells and comes from an FFT convolution of the cell masses for
# the rest (a particle-mesh scheme), about 0.01 s per step at 3,000 nodes.
EXACT_REPULSION_LIMIT = 200


def forceatlas2(n: int, ei, ej, ew, *, seed: int = SEED, iterations: int | None = None,
                scaling: float | None = None, gravity: float = 1.0) -> np.ndarray:
    """Positions (n × 2) for nodes 0..n-1 and undirected edges ei–ej with weights ew."""
    if n == 0:
        return np.zeros((0, 2))
    rng = np.random.default_rng(seed)
    mass = np.bincount(ei, minlength=n) + np.bincount(ej, minlength=n) + 1.0
    scaling = scaling if scaling is not None else (10.0 if n < 100 else 2.0)
    iterations = iterations if iterations is not None else (400 if n <= 500 else 250 if n <= 1500 else 200)
    pos = rng.uniform(-1.0, 1.0, (n, 2)) * math.sqrt(n) * 10.0
    repulsion = _exact_repulsion if n <= EXACT_REPULSION_LIMIT else _MeshRepulsion(n)
    speed, efficiency = 1.0, 1.0
    previous = np.zeros((n, 2))
    optimal_jitter = 0.05 * math.sqrt(n)
    for _ in range(iterations):
        force = scaling * repulsion(pos, mass)
        delta = pos[ei] - pos[ej]
        for axis in (0, 1):
            pull = ew * delta[:, axis]
            force[:, axis] += np.bincount(ej, weights=pull, minlength=n) - np.bincount(ei, weights=pull, minlength=n)
        distance = np.sqrt((pos * pos).sum(axis=1))
        force -= (gravity * mass / np.maximum(distance, 1e-9))[:, None] * pos
        swinging = mass * np.sqrt(((force - previous) ** 2).sum(axis=1))
        traction = 0.5 * mass * np.sqrt(((force + previous) ** 2).sum(axis=1))
        total_swing, total_traction = float(swinging.sum()), float(traction.sum())
        jitter = max(math.sqrt(optimal_jitter), min(10.0, optimal_jitter * total_traction / n ** 2))
        if total_traction > 0 and total_swing / total_traction > 2.0:
            if efficiency > 0.05:
                efficiency *= 0.5
            jitter = max(jitter, 1.0)
        target = jitter * efficiency * total_traction / total_swing if total_swing > 0 else speed * 1.5
        if total_swing > jitter * total_traction:
            if efficiency > 0.05:
                efficiency *= 0.7
        elif speed < 1000:
            efficiency *= 1.3
        speed = speed + min(target - speed, 0.5 * speed)
        pos = pos + force * (speed / (1.0 + np.sqrt(speed * swinging)))[:, None]
        previous = force
    return pos


def _exact_repulsion(pos: np.ndarray, mass: np.ndarray) -> np.ndarray:
    dx = pos[:, 0, None] - pos[None, :, 0]
    dy = pos[:, 1, None] - pos[None, :, 1]
    d2 = np.maximum(dx * dx + dy * dy, 1e-4)
    np.fill_diagonal(d2, np.inf)
    w = mass[None, :] / d2
    return mass[:, None] * np.stack([(w * dx).sum(axis=1), (w * dy).sum(axis=1)], axis=1)


def _neighbour_pairs(cx: np.ndarray, cy: np.ndarray, gx: int, gy: int) -> tuple[np.ndarray, np.ndarray]:
    """All ordered pairs (i, j), i ≠ j, of points in the same or adjacent grid cells."""
    n = len(cx)
    cell = cx * gy + cy
    counts = np.bincount(cell, minlength=gx * gy)
    order = np.argsort(cell, kind="stable")
    starts = np.cumsum(counts) - counts
    found_i, found_j = [], []
    for ox in (-1, 0, 1):
        for oy in (-1, 0, 1):
            nx_, ny_ = cx + ox, cy + oy
            valid = (nx_ >= 0) & (nx_ < gx) & (ny_ >= 0) & (ny_ < gy)
            other = np.where(valid, nx_ * gy + ny_, 0)
            k = np.where(valid, counts[other], 0)
            total = int(k.sum())
            if total == 0:
                continue
            i = np.repeat(np.arange(n), k)
            within = np.arange(total) - np.repeat(np.cumsum(k) - k, k)
            j = order[np.repeat(starts[other], k) + within]
            keep = i != j
            found_i.append(i[keep])
            found_j.append(j[keep])
    if not found_i:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    return np.concatenate(found_i), np.concatenate(found_j)


class _MeshRepulsion:
    """FA2 repulsion m_i·m_j/d: exact between neighbouring cells, by FFT between far ones."""

    def __init__(self, n: int):
        g = int(2 ** math.ceil(math.log2(max(math.sqrt(n), 8.0))))
        self.g = g = min(g, 128)
        offset = np.arange(2 * g)
        offset = np.where(offset < g, offset, offset - 2 * g)
        a, b = np.meshgrid(offset, offset, indexing="ij")
        r2 = (a * a + b * b).astype(float)
        far = ((np.abs(a) > 1) | (np.abs(b) > 1)) & (np.abs(a) < g) & (np.abs(b) < g)
        r2[~far] = 1.0
        self.kx = np.fft.rfft2(np.where(far, a / r2, 0.0))
        self.ky = np.fft.rfft2(np.where(far, b / r2, 0.0))

    def __call__(self, pos: np.ndarray, mass: np.ndarray) -> np.ndarray:
        g, n = self.g, len(pos)
        low = np.quantile(pos, 0.005, axis=0)
        high = np.quantile(pos, 0.995, axis=0)
        h = max(float((high - low).max()), 1e-9) / g * 1.000001
        cx = np.clip(((pos[:, 0] - low[0]) / h).astype(np.int64), 0, g - 1)
        cy = np.clip(((pos[:, 1] - low[1]) / h).astype(np.int64), 0, g - 1)
        cell = cx * g + cy
        grid = np.fft.rfft2(np.bincount(cell, weights=mass, minlength=g * g).reshape(g, g), s=(2 * g, 2 * g))
        fx = np.fft.irfft2(grid * self.kx, s=(2 * g, 2 * g))[:g, :g].reshape(-1)
        fy = np.fft.irfft2(grid * self.ky, s=(2 * g, 2 * g))[:g, :g].reshape(-1)
        force = np.stack([fx[cell], fy[cell]], axis=1) / h
        i, j = _neighbour_pairs(cx, cy, g, g)
        delta = pos[i] - pos[j]
        w = mass[j] / np.maximum((delta * delta).sum(axis=1), 1e-4)
        force[:, 0] += np.bincount(i, weights=w * delta[:, 0], minlength=n)
        force[:, 1] += np.bincount(i, weights=w * delta[:, 1], minlength=n)
        return force * mass[:, None]


def spread(pos: np.ndarray, radius: np.ndarray, *, gap: float, rounds: int = 40) -> np.ndarray:
    """Push overlapping discs apart until each pair is at least ``gap`` apart (or rounds run out)."""
    pos = pos.copy()
    n = len(pos)
    if n < 2:
        return pos
    reach = 2 * float(radius.max()) + gap
    golden = np.arange(n) * 2.399963229728653  # a fixed direction per node for coincident points
    for _ in range(rounds):
        low = pos.min(axis=0)
        cells = ((pos - low) / reach).astype(np.int64)
        gx, gy = int(cells[:, 0].max()) + 1, int(cells[:, 1].max()) + 1
        i, j = _neighbour_pairs(cells[:, 0], cells[:, 1], gx, gy)
        delta = pos[i] - pos[j]
        distance = np.sqrt((delta * delta).sum(axis=1))
        overlap = radius[i] + radius[j] + gap - distance
        hit = overlap > 0.5
        if not hit.any():
            break
        i, j, delta, distance, overlap = i[hit], j[hit], delta[hit], distance[hit], overlap[hit]
        tiny = distance < 1e-6
        delta[tiny] = np.stack([np.cos(golden[i[tiny]]), np.sin(golden[i[tiny]])], axis=1)
        distance[tiny] = 1.0
        # The smaller disc gives way more; many overlaps at once move a node less than their sum.
        share = radius[j] ** 2 / (radius[i] ** 2 + radius[j] ** 2)
        push = delta / distance[:, None] * (overlap * share)[:, None]
        crowd = np.sqrt(np.maximum(np.bincount(i, minlength=n), 1))
        pos[:, 0] += np.bincount(i, weights=push[:, 0], minlength=n) / crowd
        pos[:, 1] += np.bincount(i, weights=push[:, 1], minlength=n) / crowd
    return pos


def spread_boxes(pos: np.ndarray, size: np.ndarray, offset: np.ndarray, *, gap: float,
                 rounds: int = 80) -> np.ndarray:
    """Push overlapping boxes (node plus label) apart along the axis where they overlap least."""
    pos = pos.copy()
    n = len(pos)
    if n < 2:
        return pos
    reach = float(size.max()) + gap
    for _ in range(rounds):
        centre = pos + offset
        low = centre.min(axis=0)
        cells = ((centre - low) / reach).astype(np.int64)
        gx, gy = int(cells[:, 0].max()) + 1, int(cells[:, 1].max()) + 1
        i, j = _neighbour_pairs(cells[:, 0], cells[:, 1], gx, gy)
        delta = centre[i] - centre[j]
        overlap = (size[i] + size[j]) / 2 + gap - np.abs(delta)
        hit = (overlap[:, 0] > 0.5) & (overlap[:, 1] > 0.5)
        if not hit.any():
            break
        i, j, delta, overlap = i[hit], j[hit], delta[hit], overlap[hit]
        # Move along the line between the two centres (keeps the layout's shape, fans stars out),
        # just far enough for the boxes to clear each other.
        length = np.sqrt((delta * delta).sum(axis=1))
        tiny = length < 1e-6
        angle = (np.minimum(i, j) * 2.399963229728653)[tiny]
        delta[tiny] = np.stack([np.cos(angle), np.sin(angle)], axis=1) * np.where(i < j, 1.0, -1.0)[tiny, None]
        length[tiny] = 1.0
        unit = delta / length[:, None]
        with np.errstate(divide="ignore"):
            needed = np.minimum(np.where(np.abs(unit[:, 0]) > 1e-9, overlap[:, 0] / np.abs(unit[:, 0]), np.inf),
                                np.where(np.abs(unit[:, 1]) > 1e-9, overlap[:, 1] / np.abs(unit[:, 1]), np.inf))
        push = unit * (np.minimum(needed, 4 * reach) / 2)[:, None]
        pos[:, 0] += np.bincount(i, weights=push[:, 0], minlength=n) * 0.5
        pos[:, 1] += np.bincount(i, weights=push[:, 1], minlength=n) * 0.5
    return pos
