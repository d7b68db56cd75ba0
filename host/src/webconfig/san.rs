//! What the web config needs of a certificate that rustls does not give,
//! read straight from its DER: the subject alternative names (DNS names,
//! e-mail addresses, IP addresses and URIs, as the text exporter-toolkit
//! compares `client_allowed_sans` against: Go's `x509.Certificate` fields,
//! IPs written as `net.IP.String()` does), and the validity period.

use std::net::{Ipv4Addr, Ipv6Addr};

/// One DER element: its tag and its contents.
struct Tlv<'a> {
    tag: u8,
    value: &'a [u8],
}

/// Splits the first DER element off `input`.
fn next(input: &[u8]) -> Option<(Tlv<'_>, &[u8])> {
    let (&tag, rest) = input.split_first()?;
    let (&first, rest) = rest.split_first()?;
    let (len, rest) = if first < 0x80 {
        (usize::from(first), rest)
    } else {
        let n = usize::from(first & 0x7f);
        if n == 0 || n > 4 || rest.len() < n {
            return None;
        }
        let len = rest[..n]
            .iter()
            .fold(0usize, |acc, b| (acc << 8) | usize::from(*b));
        (len, &rest[n..])
    };
    if rest.len() < len {
        return None;
    }
    let (value, rest) = rest.split_at(len);
    Some((Tlv { tag, value }, rest))
}

/// The elements of a constructed value, in order.
fn children(mut input: &[u8]) -> Option<Vec<Tlv<'_>>> {
    let mut out = Vec::new();
    while !input.is_empty() {
        let (tlv, rest) = next(input)?;
        out.push(tlv);
        input = rest;
    }
    Some(out)
}

const SEQUENCE: u8 = 0x30;
const EXTENSIONS: u8 = 0xa3; // [3] EXPLICIT in TBSCertificate
const OID: u8 = 0x06;
const OCTET_STRING: u8 = 0x04;
/// 2.5.29.17, subjectAltName.
const SUBJECT_ALT_NAME: &[u8] = &[0x55, 0x1d, 0x11];

/// The certificate's subject alternative names, or `None` when the DER is
/// not a certificate this reader understands.
pub fn subject_alt_names(der: &[u8]) -> Option<Vec<String>> {
    let (cert, _) = next(der)?;
    let (tbs, _) = (cert.tag == SEQUENCE).then(|| next(cert.value))??;
    if tbs.tag != SEQUENCE {
        return None;
    }
    let Some(extensions) = children(tbs.value)?
        .into_iter()
        .find(|t| t.tag == EXTENSIONS)
    else {
        return Some(Vec::new());
    };
    let (list, _) = next(extensions.value)?;
    for ext in children(list.value)? {
        let parts = children(ext.value)?;
        let is_san = parts
            .first()
            .is_some_and(|p| p.tag == OID && p.value == SUBJECT_ALT_NAME);
        if !is_san {
            continue;
        }
        let value = parts.iter().rev().find(|p| p.tag == OCTET_STRING)?;
        let (names, _) = next(value.value)?;
        return Some(
            children(names.value)?
                .iter()
                .filter_map(general_name)
                .collect(),
        );
    }
    Some(Vec::new())
}

/// The certificate's validity period, `notBefore` and `notAfter`, in
/// seconds since the epoch; `None` when the DER is not a certificate this
/// reader understands.
pub fn validity(der: &[u8]) -> Option<(i64, i64)> {
    let (cert, _) = next(der)?;
    let (tbs, _) = (cert.tag == SEQUENCE).then(|| next(cert.value))??;
    let fields = children(tbs.value)?;
    // [0] version is optional; then serial, signature, issuer, validity.
    let skip = usize::from(fields.first()?.tag == 0xa0);
    let validity = fields.get(skip + 3)?;
    let times = children(validity.value)?;
    match times.as_slice() {
        [from, until] => Some((time(from)?, time(until)?)),
        _ => None,
    }
}

/// A UTCTime (`YYMMDDHHMMSSZ`, years 1950-2049) or GeneralizedTime
/// (`YYYYMMDDHHMMSSZ`), in seconds since the epoch.
fn time(t: &Tlv<'_>) -> Option<i64> {
    let text = std::str::from_utf8(t.value).ok()?.strip_suffix('Z')?;
    let (year, rest) = match (t.tag, text.len()) {
        (0x17, 12) => {
            let yy: i64 = text.get(..2)?.parse().ok()?;
            (if yy < 50 { 2000 + yy } else { 1900 + yy }, text.get(2..)?)
        }
        (0x18, 14) => (text.get(..4)?.parse().ok()?, text.get(4..)?),
        _ => return None,
    };
    let field = |i: usize| -> Option<i64> { rest.get(i..i + 2)?.parse().ok() };
    let (month, day) = (field(0)?, field(2)?);
    let (hour, minute, second) = (field(4)?, field(6)?, field(8)?);
    // Days from the civil date (Howard Hinnant's algorithm).
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * ((month + 9) % 12) + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    Some(days * 86_400 + hour * 3600 + minute * 60 + second)
}

/// A GeneralName as text, for the kinds the toolkit matches.
fn general_name(name: &Tlv<'_>) -> Option<String> {
    let text = || std::str::from_utf8(name.value).ok().map(str::to_owned);
    match name.tag {
        0x81 | 0x82 | 0x86 => text(), // rfc822Name, dNSName, URI
        0x87 => match name.value.len() {
            4 => <[u8; 4]>::try_from(name.value)
                .ok()
                .map(|b| Ipv4Addr::from(b).to_string()),
            16 => <[u8; 16]>::try_from(name.value).ok().map(|b| {
                let ip = Ipv6Addr::from(b);
                // Go writes an IPv4-mapped address as IPv4.
                ip.to_ipv4_mapped()
                    .map_or_else(|| ip.to_string(), |v4| v4.to_string())
            }),
            _ => None,
        },
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn malformed_der_is_refused_not_panicked_on() {
        for bad in [
            &[][..],
            &[0x30],
            &[0x30, 0x85, 1, 2, 3, 4, 5],
            &[0x30, 0x05, 1],
        ] {
            assert_eq!(subject_alt_names(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn times_in_both_encodings() {
        let t = |tag, text: &str| {
            time(&Tlv {
                tag,
                value: text.as_bytes(),
            })
        };
        assert_eq!(t(0x17, "700101000000Z"), Some(0));
        assert_eq!(t(0x17, "261203120000Z"), Some(1_796_299_200));
        assert_eq!(t(0x18, "20261203120000Z"), Some(1_796_299_200));
        assert_eq!(t(0x17, "491231235959Z"), Some(2_524_607_999));
        assert_eq!(t(0x17, "2612031200Z"), None);
    }

    #[test]
    fn general_names_as_go_writes_them() {
        let name = |tag, value: &[u8]| general_name(&Tlv { tag, value });
        assert_eq!(name(0x82, b"a.test"), Some("a.test".into()));
        assert_eq!(name(0x81, b"p@a.test"), Some("p@a.test".into()));
        assert_eq!(name(0x86, b"spiffe://c/p"), Some("spiffe://c/p".into()));
        assert_eq!(name(0x87, &[127, 0, 0, 1]), Some("127.0.0.1".into()));
        let mut v6 = [0u8; 16];
        v6[15] = 1;
        assert_eq!(name(0x87, &v6), Some("::1".into()));
        assert_eq!(name(0x84, b"x"), None, "directoryName is not matched");
    }
}
