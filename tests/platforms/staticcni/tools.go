//go:build tools

// Package staticcni pins the reference CNI plugins the node-root tests
// install (tests/platforms/staticcni.py builds them with CGO_ENABLED=0, so
// they run in a root with no libc): go.mod and go.sum fix every module.
package staticcni

import (
	_ "github.com/containernetworking/plugins/plugins/ipam/static"
	_ "github.com/containernetworking/plugins/plugins/main/macvlan"
)
