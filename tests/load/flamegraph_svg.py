#!/usr/bin/env python3
"""Draws a flame graph as a standalone SVG from folded stacks
("root;...;leaf COUNT" per line, as fold_perf_stacks.py writes them).

Each box is a frame; its width is the share of samples with that frame at
that place in the stack; roots are at the bottom. Hovering a box shows its
name, sample count and share. Colours: kernel frames ("_[k]") orange,
credbroker code green, gRPC and Abseil blue, everything else warm.

usage: flamegraph_svg.py [--title TEXT] [--width 1600] < stacks.folded > graph.svg
"""
import argparse
import hashlib
import html
import sys

ROW = 17
FONT = 11
MIN_WIDTH = 1.0  # boxes narrower than this many pixels are left out


class Node:
    __slots__ = ("name", "count", "children")

    def __init__(self, name):
        self.name, self.count, self.children = name, 0, {}


def build(lines):
    root = Node("all")
    for line in lines:
        line = line.rstrip("\n")
        if not line:
            continue
        stack, _, count = line.rpartition(" ")
        try:
            n = int(count)
        except ValueError:
            continue
        root.count += n
        node = root
        for frame in stack.split(";"):
            node = node.children.setdefault(frame, Node(frame))
            node.count += n
    return root


def depth_of(node):
    return 1 + max((depth_of(c) for c in node.children.values()), default=0)


def colour(name):
    h = int(hashlib.md5(name.encode()).hexdigest()[:6], 16)
    a, b = h % 55, (h >> 8) % 55
    if name.endswith("_[k]"):
        return f"rgb({220 + a % 35},{120 + b},{40})"
    if "credbroker" in name:
        return f"rgb({60 + a},{170 + b // 2},{70 + b})"
    if name.startswith(("grpc", "absl", "gpr_", "google::protobuf")):
        return f"rgb({80 + a},{130 + b},{210 + a % 45})"
    return f"rgb({225 + a % 30},{90 + b * 2},{50 + a})"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--title", default="flame graph")
    parser.add_argument("--width", type=int, default=1600)
    args = parser.parse_args()
    root = build(sys.stdin)
    width = args.width
    top = 40
    depth = depth_of(root)
    height = top + depth * ROW + 20
    total = max(root.count, 1)
    out = []
    out.append(
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" font-family="monospace" font-size="{FONT}">')
    out.append(f'<rect x="0" y="0" width="{width}" height="{height}" fill="#fdfdf6"/>')
    out.append(f'<text x="{width / 2}" y="20" text-anchor="middle" font-size="15">'
               f'{html.escape(args.title)}</text>')
    out.append(f'<text x="10" y="{height - 6}" fill="#555">{root.count} samples; width is the '
               'share of samples, roots at the bottom; hover a box for its figures</text>')
    char = FONT * 0.6

    def draw(node, x, level):
        w = node.count / total * (width - 20)
        if w < MIN_WIDTH:
            return
        y = height - 20 - (level + 1) * ROW
        label = html.escape(node.name)
        share = 100.0 * node.count / total
        out.append(f'<g><title>{label} ({node.count} samples, {share:.2f}%)</title>'
                   f'<rect x="{x:.2f}" y="{y}" width="{w:.2f}" height="{ROW - 1}" '
                   f'fill="{colour(node.name)}" rx="1"/>')
        fits = int((w - 4) / char)
        if fits >= 3:
            text = node.name if len(node.name) <= fits else node.name[:fits - 2] + ".."
            out.append(f'<text x="{x + 2:.2f}" y="{y + ROW - 5}">{html.escape(text)}</text>')
        out.append("</g>")
        child_x = x
        for child in sorted(node.children.values(), key=lambda c: c.name):
            draw(child, child_x, level + 1)
            child_x += child.count / total * (width - 20)

    draw(root, 10, 0)
    out.append("</svg>")
    sys.stdout.write("\n".join(out) + "\n")


if __name__ == "__main__":
    main()
