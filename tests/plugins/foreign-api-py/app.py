"""Test plugin: the Python twin of tests/plugins/foreign-api, written
against the contract's WIT alone (componentize-py's bindings, no SDK): a
POST with headers to a JSON API, whatever the API echoes logged and
exported, and a redirect it asks to follow."""

import json

from componentize_py_types import Err
from wit_world import exports
from wit_world.imports import fetch, host
from wit_world.imports import types as t

CONFIG = {}


class Out:
    def __init__(self):
        self.strings = []
        self.families = {}

    def gauge(self, name, labels, value):
        family = self.families.get(name)
        if family is None:
            family = self.families[name] = t.MetricFamily(
                name=name, help=f"{name} of the foreign plugins.", unit="",
                kind=t.MetricKind.GAUGE, label_names=[n for n, _ in labels],
                label_values=[], series=[], native_histograms=[])
        for _, v in labels:
            family.label_values.append(len(self.strings))
            self.strings.append(v)
        family.series.append(t.Series(value=t.SampleValue_Gauge(float(value)),
                                      timestamp=None, created=None))


def request(target, **fields):
    base = dict(target=target, method=None, headers=[], body=None, tls_verify=True,
                timeout_ms=5000, follow_redirects=False, read_until=None, max_bytes=None)
    base.update(fields)
    return fetch.Request(**base)


class Collector(exports.Collector):
    def metadata(self):
        return t.PluginMetadata(name="foreign-api-py", version="0.1.0",
                                description="a JSON API collector written against the WIT alone")

    def init(self, config):
        parsed = json.loads(config)
        for key in ("api", "redirect"):
            if not isinstance(parsed.get(key), str):
                raise Err(t.InitError_InvalidConfig(f"{key}: a URL"))
        CONFIG.update(parsed)

    def collect(self):
        out = Out()
        try:
            r = fetch.fetch(request(
                CONFIG["api"], method="POST",
                headers=[("Accept", "application/json"), ("Content-Type", "application/json")],
                body=b'{"query":"up","from":"python"}'))
        except Err as e:
            host.log(host.Level.WARN, f"api: {e.value}")
        else:
            text = bytes(r.body).decode("utf-8", "replace")
            host.log(host.Level.INFO, f"api answered {r.status}: {text}")
            headers = dict(r.headers)
            for name, value in r.headers:
                host.log(host.Level.INFO, f"api header {name}: {value}")
            answer = json.loads(text) if text else {}
            out.gauge("foreign_api_status", [("lang", "python"), ("call", "api")], r.status)
            out.gauge("foreign_api_value", [("lang", "python")], answer.get("value", float("nan")))
            out.gauge("foreign_api_seen", [
                ("lang", "python"), ("echo", answer.get("echo", "")),
                ("header", headers.get("x-echo-authorization", "")),
                ("authorization", headers.get("authorization", ""))], 1)
        try:
            status = fetch.fetch(request(CONFIG["redirect"], follow_redirects=True)).status
        except Err as e:
            host.log(host.Level.WARN, f"redirect: {e.value}")
            status = -1
        out.gauge("foreign_api_status", [("lang", "python"), ("call", "redirect")], status)
        return t.Collection(strings=out.strings, families=list(out.families.values()))
