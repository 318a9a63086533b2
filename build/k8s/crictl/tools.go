//go:build tools

// The commands this module pins; `go build` names them by import path.
package tools

import _ "sigs.k8s.io/cri-tools/cmd/crictl"
