//! The hub API's request and response bodies (JSON), as the OpenAPI document describes them.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// What a device may do at the hub.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Enrolled, waiting for a lead's approval: may do nothing but ask again.
    Pending,
    /// Leases cases and decides the ones it holds; sees only its own data.
    Reviewer,
    /// A reviewer who also approves reviewers, posts cases and sees every device.
    Lead,
    /// A lead who may also make leads.
    Admin,
    /// Refused everything.
    Revoked,
}

impl Role {
    /// The role's name in the database and the API.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Pending => "pending",
            Role::Reviewer => "reviewer",
            Role::Lead => "lead",
            Role::Admin => "admin",
            Role::Revoked => "revoked",
        }
    }

    /// Reads a role name.
    pub fn parse(s: &str) -> Option<Role> {
        Some(match s {
            "pending" => Role::Pending,
            "reviewer" => Role::Reviewer,
            "lead" => Role::Lead,
            "admin" => Role::Admin,
            "revoked" => Role::Revoked,
            _ => return None,
        })
    }

    /// Whether the role may approve devices, post cases and read every device's data.
    pub fn is_lead(self) -> bool {
        matches!(self, Role::Lead | Role::Admin)
    }
}

/// A device enrolled at the hub.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Device {
    /// The device id: first 8 bytes of SHA-256 of its Ed25519 public key, hex.
    pub device: String,
    /// The Ed25519 public key, hex.
    pub public_key: String,
    /// The name the device gave when enrolling.
    pub name: String,
    /// Its role.
    pub role: Role,
    /// When it enrolled (RFC 3339).
    pub enrolled_at: String,
}

/// `POST /v1/enrol`: a device asks to join (the request is signed by the key it names).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct EnrolRequest {
    /// The device's Ed25519 public key, hex (64 characters).
    pub public_key: String,
    /// A human-readable name for the device (host name, person).
    #[serde(default)]
    pub name: String,
}

/// `POST /v1/devices/{device}/role`: a lead sets a device's role.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct RoleRequest {
    /// `reviewer`, `lead` (admins only) or `revoked`.
    pub role: Role,
}

/// What `POST /v1/cases` did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ImportResult {
    /// Cases added.
    pub new: u64,
    /// Cases already held with the same content.
    pub unchanged: u64,
    /// Cases whose id exists with different content: kept beside the original, not applied.
    pub conflicts: u64,
    /// The conflicting ids with their lines (the first 100).
    pub conflict_ids: Vec<LineId>,
}

/// A case id with the line it came from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct LineId {
    /// 1-based line (or array element).
    pub line: u64,
    /// The case id.
    pub id: String,
}

/// `POST /v1/leases`: how many cases the device wants to hold.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct LeaseRequest {
    /// The most cases to hold after the call (1 to 1000); live leases count and are renewed.
    pub max: u32,
}

/// One case under lease.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Lease {
    /// The case in the import file's fields (`id, subject, body, received_at, priority,
    /// sla_due_at, metadata, label`).
    #[schema(value_type = Object)]
    pub case: serde_json::Value,
    /// The fencing token: grows by one each time the case is leased anew.
    pub fence: i64,
    /// When the lease runs out (RFC 3339); the case returns to the pool after it.
    pub expires_at: String,
}

/// The leases a device holds after `POST /v1/leases`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct LeaseResponse {
    /// Renewed leases first, then new ones.
    pub leases: Vec<Lease>,
    /// How many are new.
    pub new: u64,
}

/// A lease as listed for a device (without the case text).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct LeaseInfo {
    /// The case id.
    pub case_id: String,
    /// The holder.
    pub device: String,
    /// The fencing token.
    pub fence: i64,
    /// Expiry (RFC 3339).
    pub expires_at: String,
}

/// Every error answer.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ErrorBody {
    /// A stable code (`bad_signature`, `replayed`, `unknown_device`, `forbidden`,
    /// `invalid_cases`, `database_unavailable`, …).
    pub error: String,
    /// What is wrong, naming the place (line and field for case files).
    pub message: String,
    /// For a refused log batch: the first index the hub cannot accept.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_bad_index: Option<u64>,
}

/// `POST /v1/log`: a batch of the device's own audit log, resumable from the hub's size.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct LogBatch {
    /// Index of the first leaf in `leaves` (at most the hub's current size: leaves the hub
    /// already holds must be the same, or the batch forks the log and is refused).
    pub start: u64,
    /// Canonical leaves, base64, in index order.
    pub leaves: Vec<String>,
    /// The device's signed checkpoint (C2SP signed note) of exactly `start + leaves.len()`
    /// entries.
    pub checkpoint: String,
    /// The fencing token under which the device holds each case it decided in this batch
    /// (case id → token), from its last sync.
    #[serde(default)]
    pub fences: std::collections::BTreeMap<String, i64>,
}

/// What the hub acknowledged of a device's log.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct LogAck {
    /// Entries the hub holds for the device (the next batch starts here).
    pub size: u64,
    /// Index of the last entry held (`size - 1`), or null when none.
    pub acknowledged_index: Option<u64>,
    /// Entries of this batch that were new to the hub.
    pub accepted: u64,
    /// The newest checkpoint the hub cosigned as witness (the device's own signed note plus
    /// the hub's `cosignature/v1` line), or null when none.
    pub cosigned_checkpoint: Option<String>,
    /// Its tree size (0 when none).
    pub cosigned_size: u64,
    /// Dispositions of this batch applied to the hub's cases.
    pub applied: u64,
    /// Dispositions of this batch sent to the conflict queue (stale token, case not held).
    pub conflicts: u64,
}

/// A disposition the hub did not apply, kept for a lead to resolve.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct DispositionConflict {
    /// The device that decided.
    pub device: String,
    /// The entry's index in that device's log.
    pub index: u64,
    /// The case.
    pub case_id: String,
    /// The entry kind (`disposition`, `undo`).
    pub kind: String,
    /// The decision (`approve`, `reject`, …), when a disposition.
    pub decision: Option<String>,
    /// Who decided (the reviewer id in the device's log).
    pub actor: String,
    /// The fencing token the device claimed, if any.
    pub fence: Option<i64>,
    /// Why it was not applied.
    pub reason: String,
    /// When it was decided (RFC 3339).
    pub decided_at: String,
}

/// `GET /v1/witness`: the hub's witness key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct WitnessKey {
    /// The verifier key (`name+keyid+base64`, C2SP `cosignature/v1`, type 0x04).
    pub vkey: String,
}

/// One device's entries about a case, with inclusion proofs against its cosigned checkpoint.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct DeviceHistory {
    /// The device.
    pub device: String,
    /// Its log's origin.
    pub origin: String,
    /// The newest checkpoint of that log the hub cosigned (the device's note plus the hub's
    /// `cosignature/v1` line): every proof below is against its root.
    pub cosigned_checkpoint: String,
    /// Its tree size.
    pub size: u64,
    /// The entries about the case, oldest first.
    pub entries: Vec<HistoryEntry>,
}

/// An entry about a case, as the device logged it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct HistoryEntry {
    /// Its index in the device's log.
    pub index: u64,
    /// Entry kind.
    pub kind: String,
    /// Who acted.
    pub actor: String,
    /// When (RFC 3339, from the leaf).
    pub at: String,
    /// The canonical leaf.
    pub leaf: String,
    /// RFC 6962 audit path (hex, leaf side first) to the cosigned root.
    pub proof: Vec<String>,
}

/// `GET /v1/history`: how a case was handled on every device that touched it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct CaseHistory {
    /// The case.
    pub case_id: String,
    /// The hub's state of the case (`open`, `decided`), or null when the hub does not have it.
    pub state: Option<String>,
    /// Per device, in device order.
    pub devices: Vec<DeviceHistory>,
    /// Dispositions about the case the hub did not apply (conflicts).
    pub conflicts: Vec<DispositionConflict>,
}

/// `GET /v1/verify`: every device log the hub holds, re-verified.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct HubVerifyReport {
    /// Device logs checked.
    pub devices: u64,
    /// Entries checked.
    pub entries: u64,
    /// Whether every log verified.
    pub ok: bool,
    /// What failed, per device.
    pub failures: Vec<VerifyFailure>,
}

/// A device log that does not verify.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct VerifyFailure {
    /// The device.
    pub device: String,
    /// The first bad index, when one entry is to blame.
    pub index: Option<u64>,
    /// What is wrong.
    pub why: String,
}

/// `POST /v1/conflicts/resolve`: a lead decides which version of a conflicting disposition
/// stands. Both stay on record: the device's entry in its log, the resolution at the hub.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ResolveRequest {
    /// The device whose disposition conflicted.
    pub device: String,
    /// Its entry index.
    pub index: u64,
    /// `device`: apply the device's disposition to the case; `hub`: keep the hub's case as it is.
    pub keep: String,
}

/// What a resolution did.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Resolved {
    /// The case.
    pub case_id: String,
    /// `device` or `hub`.
    pub kept: String,
    /// The hub's state of the case after it.
    pub state: Option<String>,
}
