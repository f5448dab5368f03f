package broker

import "errors"

// Refusals every build names (the CLI matches them on any OS).
var (
	// ErrBusy: the broker refused a request for lack of capacity (this
	// client's budget is used up); the client may retry later.
	ErrBusy = errors.New("the broker is busy")
	// ErrFromJail: the request is one a client inside a jail may not make
	// (envseal lock: the passphrase prompt it would cause is the human's
	// to ask for).
	ErrFromJail = errors.New("not allowed from inside a jail")
)
