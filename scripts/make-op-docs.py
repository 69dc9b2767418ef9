#!/usr/bin/env python3
"""Writes src/onnx/op-docs.json: the operator documentation the inspector shows for a node.

Reads every operator schema, with its history, from the onnx Python package (Debian's
python3-onnx: `apt-get install -y python3-onnx`, then run with /usr/bin/python3) and keeps, per
domain, op and since_version: the first paragraph of the doc as plain text, the inputs and
outputs (name, type string, single/optional/variadic), the attributes (name, type, default,
required) and the type constraints. The page imports the file lazily (its own chunk), so it
ships with the app and is fetched from our own origin the first time a node is inspected.

Usage: /usr/bin/python3 scripts/make-op-docs.py [out.json]
"""
import json
import os
import re
import sys

import onnx
from onnx import defs, helper

OUT = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), '..', 'src', 'onnx', 'op-docs.json')
SUMMARY_MAX = 600

OPTION = {
    defs.OpSchema.FormalParameterOption.Single: '',
    defs.OpSchema.FormalParameterOption.Optional: 'optional',
    defs.OpSchema.FormalParameterOption.Variadic: 'variadic',
}


def plain(text):
    """Markdown kept simple: links become their text, emphasis and code marks go, spaces collapse."""
    text = re.sub(r'\[([^\]]*)\]\([^)]*\)', r'\1', text)
    text = re.sub(r'<[^>]+>', '', text)
    text = text.replace('`', '').replace('**', '').replace('__', '')
    return re.sub(r'\s+', ' ', text).strip()


def summary(doc):
    paragraphs = [p for p in re.split(r'\n\s*\n', doc or '') if plain(p) and not p.strip().startswith('```')]
    if not paragraphs:
        return ''
    s = plain(paragraphs[0])
    if len(s) > SUMMARY_MAX:
        cut = s.rfind('. ', 0, SUMMARY_MAX)
        s = s[: cut + 1] if cut > 0 else s[:SUMMARY_MAX].rstrip() + '…'
    return s


def number(v):
    if isinstance(v, float):
        return float(f'{v:.6g}')
    return v


def default_value(attr):
    proto = attr.default_value
    if proto is None or proto.type == onnx.AttributeProto.UNDEFINED:
        return None
    v = helper.get_attribute_value(proto)
    if isinstance(v, bytes):
        return v.decode('utf-8', 'replace')
    if isinstance(v, (list, tuple)):
        return [x.decode('utf-8', 'replace') if isinstance(x, bytes) else number(x) for x in v]
    if isinstance(v, (int, float, str)):
        return number(v)
    return str(v)


def param(p):
    entry = {'name': p.name, 'type': getattr(p, 'type_str', None) or p.typeStr}
    option = OPTION.get(p.option, '')
    if option:
        entry['option'] = option
    return entry


def attribute(a):
    entry = {'name': a.name, 'type': str(a.type).split('.')[-1].lower()}
    d = default_value(a)
    if d is not None:
        entry['default'] = d
    if a.required:
        entry['required'] = True
    return entry


def schema_entry(s):
    entry = {'since': s.since_version, 'summary': summary(s.doc)}
    if s.deprecated:
        entry['deprecated'] = True
    entry['inputs'] = [param(p) for p in s.inputs]
    entry['outputs'] = [param(p) for p in s.outputs]
    entry['attributes'] = [attribute(a) for _, a in sorted(s.attributes.items())]
    entry['constraints'] = [{'name': c.type_param_str, 'types': list(c.allowed_type_strs)} for c in s.type_constraints]
    return entry


def main():
    ops = {}
    for s in defs.get_all_schemas_with_history():
        domain = '' if s.domain in ('', 'ai.onnx') else s.domain
        ops.setdefault(domain, {}).setdefault(s.name, []).append(schema_entry(s))
    for domain in ops.values():
        for versions in domain.values():
            versions.sort(key=lambda e: e['since'])
    out = {
        'source': f'onnx {onnx.__version__}',
        'opset': {d: max(e['since'] for vs in o.values() for e in vs) for d, o in sorted(ops.items())},
        'ops': {d: dict(sorted(o.items())) for d, o in sorted(ops.items())},
    }
    with open(OUT, 'w', encoding='utf-8') as f:
        json.dump(out, f, ensure_ascii=False, separators=(',', ':'), sort_keys=False)
        f.write('\n')
    print(f'{OUT}: {sum(len(o) for o in ops.values())} ops, {sum(len(v) for o in ops.values() for v in o.values())} versions, {os.path.getsize(OUT)} bytes')


if __name__ == '__main__':
    main()
