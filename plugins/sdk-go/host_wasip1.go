//go:build wasip1

package sdk

import (
	// The component's exports, answered by the registered plugin.
	_ "wasm_exporter/sdk/wit/wit_exports"

	"wasm_exporter/sdk/wit/wasm_exporter_plugin_host"
)

func log(level Level, message string) {
	wasm_exporter_plugin_host.Log(wasm_exporter_plugin_host.Level(level), message)
}
