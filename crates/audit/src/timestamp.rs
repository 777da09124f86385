//! RFC 3161 time-stamps of the seals. A seal says the key holder signed the chain's head;
//! a time-stamp from an outside authority says the seal existed at a time the hub's own
//! clock cannot change. When `audit.timestamp_url` names an authority, each new seal's
//! signed message is hashed (SHA-256) and sent as a time-stamp request; the token that
//! comes back is kept beside the seal and travels in bundles.
//!
//! This module speaks the protocol's bytes: the DER request ([`request`]), the status
//! and token of a reply ([`token_of`]), and whether a token covers a seal ([`covers`]).
//! The token's signature is the authority's: `openssl ts -verify` checks it against the
//! authority's certificate (see the README). The HTTP exchange is the `kotohub` binary's.

use sea_orm::{ActiveValue::Set, ConnectionTrait, DbErr, EntityTrait};
use sha2::{Digest, Sha256};

use crate::entity::{audit_seal, audit_timestamp};

/// The media type of a request.
pub const QUERY_TYPE: &str = "application/timestamp-query";
/// The media type of a reply.
pub const REPLY_TYPE: &str = "application/timestamp-reply";

/// DER of the AlgorithmIdentifier of SHA-256 (OID 2.16.840.1.101.3.4.2.1, NULL).
const SHA256_ALGORITHM: [u8; 15] = [
    0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01, 0x05, 0x00,
];

/// Why a reply is no time-stamp.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ReplyError {
    #[error("the reply is not DER the protocol allows")]
    Malformed,
    #[error("the authority refused the request (status {0})")]
    Refused(u64),
    #[error("the reply holds no time-stamp token")]
    NoToken,
    #[error("the token does not cover the seal's digest")]
    WrongDigest,
}

/// The digest a seal is time-stamped by: SHA-256 of the message its signature signs.
pub fn digest(seal: &audit_seal::Model) -> [u8; 32] {
    Sha256::digest(crate::seal::message(seal.seq, &seal.hash, &seal.sealed_at)).into()
}

fn der(tag: u8, content: &[u8]) -> Vec<u8> {
    let mut out = vec![tag];
    let len = content.len();
    if len < 0x80 {
        out.push(len as u8);
    } else {
        let bytes: Vec<u8> = len
            .to_be_bytes()
            .into_iter()
            .skip_while(|b| *b == 0)
            .collect();
        out.push(0x80 | bytes.len() as u8);
        out.extend(bytes);
    }
    out.extend_from_slice(content);
    out
}

/// A TimeStampReq (v1) for `digest`, asking for the authority's certificate in the token,
/// with `nonce` so that a replayed reply does not pass for a new one.
pub fn request(digest: &[u8; 32], nonce: u64) -> Vec<u8> {
    let mut imprint = SHA256_ALGORITHM.to_vec();
    imprint.extend(der(0x04, digest));
    let mut nonce_bytes: Vec<u8> = nonce
        .to_be_bytes()
        .into_iter()
        .skip_while(|b| *b == 0)
        .collect();
    // An INTEGER is signed: a leading bit set needs a zero byte before it.
    if nonce_bytes.first().is_none_or(|b| b & 0x80 != 0) {
        nonce_bytes.insert(0, 0);
    }
    let mut body = der(0x02, &[1]);
    body.extend(der(0x30, &imprint));
    body.extend(der(0x02, &nonce_bytes));
    body.extend(der(0x01, &[0xff]));
    der(0x30, &body)
}

/// One DER element: its tag, its content, and what follows it.
fn element(bytes: &[u8]) -> Result<(u8, &[u8], &[u8]), ReplyError> {
    let (&tag, rest) = bytes.split_first().ok_or(ReplyError::Malformed)?;
    let (&first, rest) = rest.split_first().ok_or(ReplyError::Malformed)?;
    let (len, rest) = if first < 0x80 {
        (usize::from(first), rest)
    } else {
        let count = usize::from(first & 0x7f);
        if count == 0 || count > 4 || rest.len() < count {
            return Err(ReplyError::Malformed);
        }
        let len = rest[..count]
            .iter()
            .fold(0usize, |len, b| (len << 8) | usize::from(*b));
        (len, &rest[count..])
    };
    if rest.len() < len {
        return Err(ReplyError::Malformed);
    }
    Ok((tag, &rest[..len], &rest[len..]))
}

/// The token (a CMS ContentInfo, DER) of a TimeStampResp whose status grants it.
pub fn token_of(reply: &[u8]) -> Result<Vec<u8>, ReplyError> {
    let (tag, response, _) = element(reply)?;
    if tag != 0x30 {
        return Err(ReplyError::Malformed);
    }
    let (tag, status_info, after_status) = element(response)?;
    if tag != 0x30 {
        return Err(ReplyError::Malformed);
    }
    let (tag, status, _) = element(status_info)?;
    if tag != 0x02 || status.is_empty() || status.len() > 8 {
        return Err(ReplyError::Malformed);
    }
    let status = status.iter().fold(0u64, |n, b| (n << 8) | u64::from(*b));
    // 0: granted; 1: granted with modifications.
    if status > 1 {
        return Err(ReplyError::Refused(status));
    }
    if after_status.is_empty() {
        return Err(ReplyError::NoToken);
    }
    let (tag, _, _) = element(after_status)?;
    if tag != 0x30 {
        return Err(ReplyError::Malformed);
    }
    let token_len = after_status.len() - element(after_status)?.2.len();
    Ok(after_status[..token_len].to_vec())
}

/// Whether `token` carries `digest` as its message imprint: the OCTET STRING of the
/// SHA-256 digest appears in the signed TSTInfo.
pub fn covers(token: &[u8], digest: &[u8; 32]) -> bool {
    let needle = der(0x04, digest);
    token.windows(needle.len()).any(|window| window == needle)
}

/// Keeps the token an authority at `tsa_url` gave `seal`.
pub async fn store(
    db: &impl ConnectionTrait,
    seal: &audit_seal::Model,
    tsa_url: &str,
    token: &[u8],
) -> Result<audit_timestamp::Model, DbErr> {
    let row = audit_timestamp::Model {
        seq: seal.seq,
        tsa_url: tsa_url.to_owned(),
        token: hex::encode(token),
        stamped_at: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Micros, true),
    };
    audit_timestamp::Entity::insert(audit_timestamp::ActiveModel {
        seq: Set(row.seq),
        tsa_url: Set(row.tsa_url.clone()),
        token: Set(row.token.clone()),
        stamped_at: Set(row.stamped_at.clone()),
    })
    .exec_without_returning(db)
    .await?;
    Ok(row)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_request_is_the_der_rfc_3161_describes() {
        let digest = [0xab; 32];
        let request = request(&digest, 0x0102);
        // SEQUENCE { INTEGER 1, SEQUENCE { sha256, OCTET STRING digest }, INTEGER nonce,
        // BOOLEAN TRUE }
        assert_eq!(&request[..5], &[0x30, 0x3d, 0x02, 0x01, 0x01]);
        assert_eq!(&request[5..7], &[0x30, 0x31]);
        assert_eq!(&request[7..22], &SHA256_ALGORITHM);
        assert_eq!(&request[22..24], &[0x04, 0x20]);
        assert_eq!(&request[24..56], &digest);
        assert_eq!(&request[56..], &[0x02, 0x02, 0x01, 0x02, 0x01, 0x01, 0xff]);
        // A nonce whose first byte has its top bit set gets a zero byte before it.
        let high = super::request(&digest, 0x80);
        assert_eq!(
            &high[high.len() - 7..],
            &[0x02, 0x02, 0x00, 0x80, 0x01, 0x01, 0xff]
        );
    }

    #[test]
    fn a_reply_gives_its_token_only_when_granted() {
        let token = der(0x30, &der(0x04, &[7; 32]));
        let granted = der(0x30, &[der(0x30, &der(0x02, &[0])), token.clone()].concat());
        assert_eq!(token_of(&granted), Ok(token.clone()));
        assert!(covers(&token, &[7; 32]));
        assert!(!covers(&token, &[8; 32]));
        let refused = der(0x30, &der(0x30, &der(0x02, &[2])));
        assert_eq!(token_of(&refused), Err(ReplyError::Refused(2)));
        let empty = der(0x30, &der(0x30, &der(0x02, &[0])));
        assert_eq!(token_of(&empty), Err(ReplyError::NoToken));
        assert_eq!(token_of(&[0x30, 0x05, 0x01]), Err(ReplyError::Malformed));
        assert_eq!(token_of(&[]), Err(ReplyError::Malformed));
    }
}
