use super::*;

fn pick(accept: &str) -> (Format, Escaping) {
    let n = negotiate(Some(accept));
    (n.format, n.escaping)
}

use super::scrapers::{
    PROMETHEUS_2_42, PROMETHEUS_2_42_NATIVE, PROMETHEUS_3, PROMETHEUS_3_PROTO_FIRST,
};

#[test]
fn what_prometheus_2_42_and_3_send() {
    assert_eq!(
        pick(PROMETHEUS_2_42),
        (Format::OpenMetrics { legacy: false }, Escaping::Underscores)
    );
    assert_eq!(
        pick(PROMETHEUS_2_42_NATIVE),
        (Format::Protobuf, Escaping::Underscores)
    );
    assert_eq!(
        pick(PROMETHEUS_3),
        (Format::OpenMetrics { legacy: false }, Escaping::AllowUtf8)
    );
    assert_eq!(
        pick(PROMETHEUS_3_PROTO_FIRST),
        (Format::Protobuf, Escaping::Underscores)
    );
    // Prometheus 3 told to scrape text 1.0.0 only.
    assert_eq!(
        pick("text/plain;version=1.0.0;escaping=allow-utf-8;q=0.6,*/*;q=0.5"),
        (Format::Text1, Escaping::AllowUtf8)
    );
}

#[test]
fn content_type_echoes_the_escaping_for_the_1_0_0_formats() {
    let ct = |accept| negotiate(Some(accept)).content_type();
    assert_eq!(
        ct(PROMETHEUS_3),
        "application/openmetrics-text; version=1.0.0; charset=utf-8; escaping=allow-utf-8"
    );
    assert_eq!(
        ct("text/plain;version=1.0.0;escaping=dots"),
        "text/plain; version=1.0.0; charset=utf-8; escaping=dots"
    );
    assert_eq!(
        ct(PROMETHEUS_2_42_NATIVE),
        "application/vnd.google.protobuf; proto=io.prometheus.client.MetricFamily; encoding=delimited; escaping=underscores"
    );
    assert_eq!(ct("text/plain"), "text/plain; version=0.0.4; charset=utf-8");
}

#[test]
fn escaping_parameters() {
    assert_eq!(
        pick("text/plain;version=1.0.0;escaping=values").1,
        Escaping::Values
    );
    assert_eq!(
        pick("application/openmetrics-text;version=1.0.0;escaping=allow-utf8").1,
        Escaping::AllowUtf8
    );
    // Unknown: ignored, underscores.
    assert_eq!(
        pick("text/plain;version=1.0.0;escaping=rot13").1,
        Escaping::Underscores
    );
    // Formats that cannot quote names never get allow-utf-8.
    assert_eq!(
        pick("text/plain;version=0.0.4;escaping=allow-utf-8"),
        (Format::Text, Escaping::Underscores)
    );
    assert_eq!(
        pick("text/plain;version=0.0.4;escaping=dots"),
        (Format::Text, Escaping::Dots)
    );
}

#[test]
fn defaults_and_fallbacks_are_text() {
    assert_eq!(pick(""), (Format::Text, Escaping::Underscores));
    assert_eq!(negotiate(None).format, Format::Text);
    assert_eq!(pick("*/*").0, Format::Text);
    assert_eq!(pick("application/json").0, Format::Text);
    assert_eq!(pick("text/plain;version=9.9.9").0, Format::Text);
    // Protobuf needs its message and the delimited encoding.
    let text_proto = "application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=text;q=0.7,application/openmetrics-text;q=0.5";
    assert_eq!(pick(text_proto).0, Format::OpenMetrics { legacy: false });
    let other = "application/vnd.google.protobuf;proto=other.Message;encoding=delimited";
    assert_eq!(pick(other).0, Format::Text);
}

#[test]
fn quality_and_versions_rank() {
    assert_eq!(
        pick("text/plain;q=0.5, application/openmetrics-text; version=0.0.1").0,
        Format::OpenMetrics { legacy: true }
    );
    assert_eq!(
        pick("application/openmetrics-text;q=0.2, text/plain;version=0.0.4").0,
        Format::Text
    );
    assert_eq!(
        pick("application/openmetrics-text;q=0, */*").0,
        Format::Text
    );
    assert_eq!(
        pick("Application/OpenMetrics-Text; version=\"1.0.0\"").0,
        Format::OpenMetrics { legacy: false }
    );
}

#[test]
fn zstd_and_gzip() {
    let c = |h| compression(Some(h));
    assert_eq!(c("gzip, deflate, br"), Compression::Gzip);
    assert_eq!(c("gzip"), Compression::Gzip);
    assert_eq!(c("zstd"), Compression::Zstd);
    assert_eq!(c("deflate, gzip, br, zstd"), Compression::Zstd);
    assert_eq!(c("zstd;q=0.5, gzip"), Compression::Gzip);
    assert_eq!(c("deflate;q=0.5, gzip;q=0.1"), Compression::Gzip);
    assert_eq!(c("*"), Compression::Zstd);
    assert_eq!(c("gzip;q=0"), Compression::Identity);
    assert_eq!(c("*, gzip;q=0"), Compression::Zstd);
    assert_eq!(c("*, gzip;q=0, zstd;q=0"), Compression::Identity);
    assert_eq!(c("identity"), Compression::Identity);
    assert_eq!(compression(None), Compression::Identity);
}
