// Package wire is the broker's wire protocol: frames, the messages they
// carry, the refusals both ends name, and where the socket lives (and the
// checks both ends make on its directory and peer). It holds no policy:
// the server (package server) decides, the client (package client) asks.
//
// A frame is a version byte, a type byte, a big-endian uint32 payload
// length and a JSON payload (docs/FORMAT.md, "broker wire protocol").
package wire
