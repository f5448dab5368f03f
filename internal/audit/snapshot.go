package audit

// Snapshot calls fn while holding the audit lock shared: no record is
// appended meanwhile, so the audit.log and audit.head that fn reads agree
// (a backup copies both). Callers holding the vault lock may call it: the
// order is always vault lock, then audit lock.
func Snapshot(dir string, fn func() error) error {
	release, err := lockAudit(dir, false)
	if err != nil {
		return err
	}
	defer release()
	return fn()
}
