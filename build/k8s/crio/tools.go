//go:build tools

// The commands this module pins; `go build` names them by import path.
package tools

import _ "github.com/cri-o/cri-o/cmd/crio"
