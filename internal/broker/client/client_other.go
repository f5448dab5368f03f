//go:build !linux

package client

import (
	"context"
	"os"

	"github.com/envseal/envseal/internal/broker/wire"
	"github.com/envseal/envseal/internal/launch"
	"github.com/envseal/envseal/internal/policy"
)

// Conn is a broker connection (never established on this OS).
type Conn struct{ Path string }

// Dial always fails on this OS.
func Dial(path string) (*Conn, error) { return nil, wire.ErrUnsupported }

func (c *Conn) Close() error                     { return nil }
func (c *Conn) Status() (*wire.StatusMsg, error) { return nil, wire.ErrUnsupported }
func (c *Conn) Lock() error                      { return wire.ErrUnsupported }
func (c *Conn) List() ([]wire.ListEntry, error)  { return nil, wire.ErrUnsupported }
func (c *Conn) Policy() ([]policy.Rule, error)   { return nil, wire.ErrUnsupported }
func (c *Conn) Store(name, purpose string) (*wire.StoreResultMsg, error) {
	return nil, wire.ErrUnsupported
}
func (c *Conn) Run(context.Context, *launch.Request) (*launch.Result, error) {
	return nil, &launch.Error{Code: launch.ExitFailed, Err: wire.ErrUnsupported}
}

// RegisterJail does nothing: there is no jail here.
func RegisterJail(path, userNS string, channel func() (*os.File, error), stop <-chan struct{}) {}
