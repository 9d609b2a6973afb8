//! A JWKS document as the key endpoint may serve it (it is fetched over the
//! network and cached in KV), then a token on the last line: parsing the key
//! set and verifying with any key in it must not panic, and a key of one
//! family must never verify a token that names another.
#![no_main]

use jsonwebtoken::Algorithm;
use jsonwebtoken::jwk::{AlgorithmParameters, JwkSet};
use libfuzzer_sys::fuzz_target;
use wws_auth::fuzzing::jwt;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let (document, token) = text.rsplit_once('\n').unwrap_or((text, ""));
    let Ok(jwks) = serde_json::from_str::<JwkSet>(document) else {
        return;
    };
    let expect = jwt::Expectations {
        audience: None,
        issuer: None,
    };
    let named = match jwt::inspect(token) {
        Ok((algorithm, jwt::Needs::Jwks { kid })) => Some((algorithm, kid)),
        _ => None,
    };
    // Every key by its own kid, under both accepted families: the mismatched
    // pairs are what an attacker who controls a header would try.
    let kids = jwks.keys.iter().map(|key| key.common.key_id.clone());
    for kid in kids.chain(named.iter().map(|(_, kid)| kid.clone())) {
        for algorithm in [Algorithm::ES256, Algorithm::RS256] {
            let Ok(_) = jwt::verify_with_jwks(token, algorithm, kid.as_deref(), &jwks, &expect)
            else {
                continue;
            };
            let key = match kid.as_deref() {
                Some(kid) => jwks.find(kid),
                None => jwks.keys.first(),
            };
            let family = key.map(|key| &key.algorithm);
            let fits = matches!(
                (algorithm, family),
                (
                    Algorithm::ES256,
                    Some(AlgorithmParameters::EllipticCurve(_))
                ) | (Algorithm::RS256, Some(AlgorithmParameters::RSA(_)))
            );
            assert!(fits, "{algorithm:?} verified with a key of another family");
            assert!(
                matches!(&named, Some((named, _)) if *named == algorithm),
                "verified under {algorithm:?}, which the token does not name"
            );
        }
    }
});
