"""wasm_exporter SDK for Python plugins, built with componentize-py.

A plugin is a class whose constructor takes the ``config:`` of its
``NAME.yml`` (a dict) and whose ``collect()`` returns families; ``export``
turns it into the ``Collector`` that componentize-py looks for::

    from wasm_exporter_sdk import export, gauge

    class Hello:
        def __init__(self, config):
            self.site = config.get("site", "local")

        def collect(self):
            up = gauge("hello_up", "Whether hello is up.", labels=["site"])
            up.add_gauge([self.site], 1.0)
            return [up]

    Collector = export(Hello, name="hello", version="0.1.0")

componentize-py builds a fresh ``Collector`` object for every call, so the
plugin object lives at module level here: state kept on it survives between
scrapes, as in the Rust SDK.

Outside the exporter (a plugin's own unit tests, plain ``python3``) there is
no host: ``fetch`` answers from the stand-ins set with ``testing.respond``,
and ``log`` prints to stderr.
"""

import json
import math
import sys
import traceback

try:
    from componentize_py_types import Err
    from wit_world import exports
    from wit_world.imports import fetch as _fetch
    from wit_world.imports import host as _host
    from wit_world.imports import types as t
    NATIVE = False
except ImportError:  # unit tests, outside the exporter: see ``testing``
    NATIVE = True

    class Err(Exception):
        """The error case of a contract result."""

        def __init__(self, value):
            super().__init__(value)
            self.value = value

    class _Record:
        """A contract record or variant case, outside the exporter."""

        def __init__(self, *args, **fields):
            if args:
                self.value = args[0]
            self.__dict__.update(fields)

        def __eq__(self, other):
            return type(self) is type(other) and self.__dict__ == other.__dict__

        def __repr__(self):
            return f"{type(self).__name__}({self.__dict__})"

    class _Enum:
        def __getattr__(self, name):
            return name.lower().replace("_", "-")

    class _Types:
        """The contract's types, as plain records."""

        def __init__(self):
            self._made = {}

        def __getattr__(self, name):
            if name in ("MetricKind", "Level"):
                return _Enum()
            made = self._made.get(name)
            if made is None:
                made = self._made[name] = type(name, (_Record,), {})
            return made

    t = _Types()
    _fetch = _host = None

    class exports:  # noqa: N801 - the name componentize-py gives it
        Collector = object

Timestamp = t.Timestamp

__all__ = [
    "Timestamp", "counter", "gauge", "unknown", "histogram", "gauge_histogram",
    "summary", "info", "stateset", "exemplar", "log", "fetch", "Response",
    "FetchFailed", "InvalidConfig", "export", "native_histogram", "testing",
]


def exemplar(labels, value, timestamp=None):
    """An exemplar: ``labels`` as ``(name, value)`` pairs or a dict."""
    pairs = labels.items() if isinstance(labels, dict) else labels
    return t.Exemplar(
        labels=[t.Label(name=n, value=v) for n, v in pairs],
        value=float(value),
        timestamp=timestamp,
    )


class Series:
    """One series of a family; set its timestamp or created time."""

    def __init__(self, labels, value):
        self.labels = [str(v) for v in labels]
        self.value = value
        self.timestamp = None
        self.created = None

    def with_timestamp(self, timestamp):
        self.timestamp = timestamp
        return self

    def with_created(self, created):
        self.created = created
        return self


class Family:
    """A metric family: name, help, unit, label names and series."""

    def __init__(self, kind, name, help, unit="", labels=()):
        self.kind = kind
        self.name = name
        self.help = help
        self.unit = unit
        self.label_names = list(labels)
        self.series = []
        self.native_histograms = []

    def _add(self, labels, value):
        series = Series(labels, value)
        self.series.append(series)
        return series

    def add_counter(self, labels, total, exemplar=None):
        return self._add(labels, t.SampleValue_Counter(
            t.CounterValue(total=float(total), exemplar=exemplar)))

    def add_gauge(self, labels, value):
        return self._add(labels, t.SampleValue_Gauge(float(value)))

    def add_unknown(self, labels, value):
        return self._add(labels, t.SampleValue_Unknown(float(value)))

    def add_histogram(self, labels, buckets, sum, count, exemplars=None):
        """``buckets``: ``(upper_bound, cumulative_count)`` pairs ending at
        ``math.inf``; ``exemplars``: bucket index to exemplar."""
        return self._add(labels, t.SampleValue_Histogram(
            _histogram(buckets, sum, count, exemplars)))

    def add_gauge_histogram(self, labels, buckets, sum, count, exemplars=None):
        return self._add(labels, t.SampleValue_GaugeHistogram(
            _histogram(buckets, sum, count, exemplars)))

    def add_native_histogram(self, labels, value):
        """A native histogram series; ``value`` from ``native_histogram``.
        The value goes to the family's list, the series points at it."""
        self.native_histograms.append(value)
        return self._add(labels, t.SampleValue_NativeHistogram(len(self.native_histograms) - 1))

    def add_native_gauge_histogram(self, labels, value):
        self.native_histograms.append(value)
        return self._add(labels, t.SampleValue_NativeGaugeHistogram(len(self.native_histograms) - 1))

    def add_summary(self, labels, quantiles, sum, count):
        """``quantiles``: ``(quantile, value)`` pairs."""
        return self._add(labels, t.SampleValue_Summary(t.SummaryValue(
            quantiles=[t.Quantile(quantile=float(q), value=float(v)) for q, v in quantiles],
            sum=float(sum),
            count=int(count),
        )))

    def add_info(self, labels):
        return self._add(labels, t.SampleValue_Info())

    def add_stateset(self, labels, states):
        """``states``: ``(name, enabled)`` pairs."""
        return self._add(labels, t.SampleValue_Stateset(
            [t.State(name=n, enabled=bool(e)) for n, e in states]))

    def _wit(self, intern):
        values = []
        series = []
        for s in self.series:
            values.extend(intern(v) for v in s.labels)
            series.append(t.Series(value=s.value, timestamp=s.timestamp, created=s.created))
        return t.MetricFamily(
            name=self.name, help=self.help, unit=self.unit, kind=self.kind,
            label_names=list(self.label_names), label_values=values, series=series,
            native_histograms=list(self.native_histograms),
        )


def _histogram(buckets, sum, count, exemplars):
    exemplars = exemplars or {}
    return t.HistogramValue(
        buckets=[
            t.Bucket(upper_bound=float(le), cumulative_count=int(n), exemplar=exemplars.get(i))
            for i, (le, n) in enumerate(buckets)
        ],
        sum=float(sum),
        count=int(count),
    )


def native_histogram(schema, count, sum, zero_threshold=0.0, zero_count=0,
                     negative=(), positive=(), exemplars=(), classic=()):
    """A native histogram's value (contract 0.2.0). ``negative``,
    ``positive``: ``(index, count)`` pairs sorted by index; ``classic``:
    optional ``(upper_bound, cumulative_count)`` pairs ending at ``math.inf``."""
    def side(pairs):
        return [t.NativeBucket(index=int(i), count=int(n)) for i, n in pairs]
    return t.NativeHistogramValue(
        schema=int(schema),
        zero_threshold=float(zero_threshold),
        zero_count=int(zero_count),
        negative=side(negative),
        positive=side(positive),
        count=int(count),
        sum=float(sum),
        exemplars=list(exemplars),
        classic=_histogram(classic, sum, count, None).buckets,
    )


def _family(kind):
    def make(name, help, unit="", labels=()):
        return Family(kind, name, help, unit, labels)
    return make


counter = _family(t.MetricKind.COUNTER)
gauge = _family(t.MetricKind.GAUGE)
unknown = _family(t.MetricKind.UNKNOWN)
histogram = _family(t.MetricKind.HISTOGRAM)
gauge_histogram = _family(t.MetricKind.GAUGE_HISTOGRAM)
summary = _family(t.MetricKind.SUMMARY)
info = _family(t.MetricKind.INFO)
stateset = _family(t.MetricKind.STATESET)

_LEVELS = {} if NATIVE else {
    "trace": _host.Level.TRACE, "debug": _host.Level.DEBUG, "info": _host.Level.INFO,
    "warn": _host.Level.WARN, "error": _host.Level.ERROR,
}


def log(level, message):
    """Writes to the exporter's log, tagged with the plugin's name;
    ``level`` is ``trace``, ``debug``, ``info``, ``warn`` or ``error``."""
    if NATIVE:
        sys.stderr.write(f"{level}: {message}\n")
        return
    _host.log(_LEVELS[level], str(message))


class FetchFailed(Exception):
    """A refused, failed or slow request: ``error`` is the contract's
    ``fetch-error`` case."""

    def __init__(self, error):
        super().__init__(f"{type(error).__name__.removeprefix('FetchError_')}: "
                         f"{getattr(error, 'value', '')}")
        self.error = error


class Response:
    """What a target answered: ``status`` (0 for a socket), ``headers``
    (``(name, value)`` pairs, names in lower case), ``body`` (bytes) and
    ``truncated`` (``max_bytes`` cut it short). Unpacks as
    ``status, body = fetch(...)``."""

    def __init__(self, status, body=b"", headers=(), truncated=False):
        self.status = status
        self.body = bytes(body)
        self.headers = [(n, v) for n, v in headers]
        self.truncated = truncated

    @property
    def ok(self):
        """Whether the status is 2xx."""
        return 200 <= self.status < 300

    def header(self, name):
        """The first value of header ``name`` (any case), or ``None``."""
        name = name.lower()
        return next((v for n, v in self.headers if n.lower() == name), None)

    def text(self):
        """The body as text (invalid UTF-8 replaced)."""
        return self.body.decode("utf-8", "replace")

    def json(self):
        """The body parsed as JSON."""
        return json.loads(self.body)

    def __iter__(self):
        return iter((self.status, self.body))

    def __repr__(self):
        return f"Response(status={self.status}, body={len(self.body)} bytes)"


def fetch(target, method=None, headers=None, body=None, timeout_ms=None,
          tls_verify=True, follow_redirects=False, read_until=None,
          max_bytes=None, command=None):
    """One request through the exporter, allowed by ``grants.fetch``;
    returns a ``Response`` (any HTTP status is one), raises ``FetchFailed``.

    ``headers``: a dict or ``(name, value)`` pairs; ``body``: bytes or text
    (for a socket, what is written before reading; ``command`` is the same).
    Credentials are the grant's: the exporter adds them, the plugin never
    sees them."""
    if isinstance(headers, dict):
        headers = list(headers.items())
    if body is None and command is not None:
        body = command
    if isinstance(body, str):
        body = body.encode()
    if isinstance(read_until, str):
        read_until = read_until.encode()
    fields = dict(
        target=target, method=method, headers=[(str(n), str(v)) for n, v in headers or ()],
        body=body, tls_verify=tls_verify, timeout_ms=timeout_ms,
        follow_redirects=follow_redirects, read_until=read_until, max_bytes=max_bytes)
    if NATIVE:
        return testing._fetch(t.Request(**fields))
    try:
        r = _fetch.fetch(_fetch.Request(**fields))
    except Err as e:
        raise FetchFailed(e.value) from None
    return Response(r.status, r.body, r.headers, r.truncated)


class _Testing:
    """Test doubles for a plugin's unit tests, outside the exporter:
    ``respond`` sets what ``fetch`` answers for a target, ``requests`` lists
    what was asked, ``collect`` runs a plugin class as the exporter would
    (config in, families out)::

        from wasm_exporter_sdk import testing
        testing.respond("http://127.0.0.1:9200/_cluster/health", 200,
                        b'{"status": "green"}')
        families = testing.collect(MyPlugin, {"url": "http://127.0.0.1:9200"})
        assert testing.requests()[0].method is None
    """

    def __init__(self):
        self._answers = {}
        self._asked = []

    def respond(self, target, status=200, body=b"", headers=()):
        """From now on, a fetch of exactly ``target`` gets this answer."""
        if isinstance(body, str):
            body = body.encode()
        self._answers[target] = Response(status, body, headers)

    def fail(self, target, error="connect", message=""):
        """From now on, a fetch of ``target`` raises ``FetchFailed`` with the
        contract's ``error`` case (``denied``, ``invalid-target``,
        ``connect``, ``timeout``, ``too-large``, ``protocol``)."""
        case = "FetchError_" + "".join(p.title() for p in error.split("-"))
        self._answers[target] = getattr(t, case)(message)

    def requests(self):
        """The requests made so far: ``target``, ``method``, ``headers``,
        ``body``... as the plugin built them."""
        return list(self._asked)

    def reset(self):
        """Forgets every stand-in and request."""
        self._answers.clear()
        self._asked.clear()

    def collect(self, cls, config=None):
        """Builds the plugin from ``config`` and returns one collect's
        families."""
        return cls(config or {}).collect()

    def _fetch(self, request):
        answer = self._answers.get(request.target)
        if request.timeout_ms == 0:
            if answer is not None and not isinstance(answer, Response):
                raise FetchFailed(answer)
            raise FetchFailed(t.FetchError_Timeout())
        self._asked.append(request)
        if answer is None:
            raise FetchFailed(t.FetchError_Denied(
                f"{request.target} has no stand-in (testing.respond)"))
        if isinstance(answer, Response):
            return answer
        raise FetchFailed(answer)


testing = _Testing()


class InvalidConfig(Exception):
    """Raise from the constructor for a config the plugin cannot use."""


def _traceback():
    """The exception being handled, with its traceback, on stderr: the
    exporter logs each line, tagged with the plugin."""
    sys.stderr.write(traceback.format_exc())
    sys.stderr.flush()


def export(cls, name, version, description=""):
    """The ``Collector`` class componentize-py exports for plugin ``cls``."""
    state = {"plugin": None}

    class Collector(exports.Collector):
        def metadata(self):
            return t.PluginMetadata(name=name, version=version, description=description)

        def init(self, config):
            try:
                parsed = json.loads(config) if config.strip() else {}
            except ValueError as e:
                raise Err(t.InitError_InvalidConfig(f"config: {e}"))
            try:
                state["plugin"] = cls(parsed)
            except (InvalidConfig, KeyError, TypeError, ValueError) as e:
                raise Err(t.InitError_InvalidConfig(f"config: {e}"))
            except Exception as e:
                _traceback()
                raise Err(t.InitError_Failed(f"{type(e).__name__}: {e}"))

        def collect(self):
            plugin = state["plugin"]
            if plugin is None:
                raise Err(t.CollectError(message="collect called before a successful init"))
            try:
                families = plugin.collect()
            except Exception as e:
                _traceback()
                raise Err(t.CollectError(message=f"{type(e).__name__}: {e}"))
            strings = []
            index = {}

            def intern(value):
                i = index.get(value)
                if i is None:
                    i = index[value] = len(strings)
                    strings.append(value)
                return i

            return t.Collection(strings=strings, families=[f._wit(intern) for f in families])

    return Collector


NAN = math.nan
INF = math.inf
