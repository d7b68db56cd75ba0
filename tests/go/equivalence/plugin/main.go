// The same collectors as a wasm_exporter plugin.
package main

import (
	"github.com/prometheus/client_golang/prometheus"

	"gotests/equivalence/collectors"
	"wasm_exporter/sdk"
)

func init() {
	sdk.Register(sdk.Metadata{Name: "equivalence", Version: "0.1.0"},
		func(_ []byte, reg prometheus.Registerer) error { return collectors.Register(reg) })
}

func main() {}
