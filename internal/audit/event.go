package audit

// Event is the kind of an audit record: the closed set below. Records of
// other kinds (written by an older or newer envseal) still verify and are
// shown; envseal itself writes only these.
type Event string

// The events envseal records.
const (
	VaultInit            Event = "vault_init"
	AuditRotated         Event = "audit_rotated" // record 1 of a chain started anew (docs/FORMAT.md)
	VaultBackup          Event = "vault_backup"
	VaultRestored        Event = "vault_restored"
	PassphraseChanged    Event = "passphrase_changed"
	UnlockFailed         Event = "unlock_failed"
	SecretStored         Event = "secret_stored"
	SecretRevoked        Event = "secret_revoked"
	SecretRotationSet    Event = "secret_rotation_set"
	StoreRequestDeclined Event = "store_request_declined"
	PolicyChanged        Event = "policy_changed"
	PolicyTampered       Event = "policy_tampered"
	EnvRefused           Event = "env_refused"
	BinaryChanged        Event = "binary_changed"
	ContextChanged       Event = "context_changed"
	ApprovalRequested    Event = "approval_requested"
	ApprovalDecided      Event = "approval_decided"
	ApprovalCancelled    Event = "approval_cancelled"
	TOTPEnabled          Event = "totp_enabled"
	TOTPDisabled         Event = "totp_disabled"
	TOTPFailed           Event = "totp_failed"
	RunStarted           Event = "run_started"
	RunFinished          Event = "run_finished"
	ValueScan            Event = "value_scan"
	LockRefused          Event = "lock_refused"
)
