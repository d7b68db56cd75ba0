// Package sdk makes a Go program a wasm_exporter collector plugin built on
// client_golang: register ordinary collectors (CounterVec, Summary,
// native histograms, a custom Collect with MustNewConstMetric) on the
// registry Register hands you, and on every scrape the SDK gathers it and
// gives the exporter what client_golang gathered.
//
//	package main
//
//	import (
//		"github.com/prometheus/client_golang/prometheus"
//		"wasm_exporter/sdk"
//	)
//
//	func init() {
//		sdk.Register(sdk.Metadata{Name: "hello", Version: "0.1.0"},
//			func(config []byte, reg prometheus.Registerer) error {
//				up := prometheus.NewGauge(prometheus.GaugeOpts{Name: "hello_up", Help: "Up."})
//				up.Set(1)
//				return reg.Register(up)
//			})
//	}
//
//	func main() {}
//
// Build with `GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -o
// core.wasm .` and `wasm_exporter plugin componentize core.wasm -o
// hello.wasm`. Natively (`go test`) the same code runs against a real
// registry, and HTTPClient is an ordinary client.
package sdk

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/prometheus/client_golang/prometheus"

	"wasm_exporter/sdk/internal/plugin"
	t "wasm_exporter/sdk/wit/wasm_exporter_plugin_types"
)

// Metadata describes the plugin to operators.
type Metadata struct {
	Name        string
	Version     string
	Description string
}

// Setup starts the plugin: config is the `config:` section of its
// NAME.yml as JSON (`{}` without one); register the plugin's collectors
// on reg. Return an error wrapped with InvalidConfig for a config the
// plugin cannot use.
type Setup func(config []byte, reg prometheus.Registerer) error

// Probe collects from the target a `/probe` scrape names, with its other
// query parameters: register what to gather for it on reg.
type Probe func(target string, params map[string]string, reg prometheus.Registerer) error

// errInvalidConfig marks a config error.
var errInvalidConfig = errors.New("invalid config")

// InvalidConfig is the error to return from Setup for a config the plugin
// cannot use: the exporter reports the plugin down with reason `init`.
func InvalidConfig(format string, args ...any) error {
	return fmt.Errorf("%w: %s", errInvalidConfig, fmt.Sprintf(format, args...))
}

// Register makes setup the plugin. Call it from an init function of
// package main; a second call replaces the first.
func Register(meta Metadata, setup Setup) {
	plugin.Current = &registered{meta: meta, setup: setup}
}

// RegisterProber is Register for a plugin that also answers `/probe`.
func RegisterProber(meta Metadata, setup Setup, probe Probe) {
	plugin.Current = &registered{meta: meta, setup: setup, probe: probe}
}

type registered struct {
	meta    Metadata
	setup   Setup
	probe   Probe
	gather  prometheus.Gatherer
	problem map[string]bool
}

func (r *registered) Metadata() t.PluginMetadata {
	return t.PluginMetadata{Name: r.meta.Name, Version: r.meta.Version, Description: r.meta.Description}
}

func (r *registered) Init(config string) *t.InitError {
	raw := configBytes(config)
	if !json.Valid(raw) {
		e := t.MakeInitErrorInvalidConfig("config: not JSON")
		return &e
	}
	reg := prometheus.NewRegistry()
	if err := r.setup(raw, reg); err != nil {
		e := initError(err)
		return &e
	}
	r.gather, r.problem = reg, map[string]bool{}
	return nil
}

// configBytes is the config as init got it, `{}` for none.
func configBytes(config string) []byte {
	if strings.TrimSpace(config) == "" {
		return []byte("{}")
	}
	return []byte(config)
}

// initError is the contract's init error for err: invalid-config when it
// wraps InvalidConfig, failed otherwise.
func initError(err error) t.InitError {
	if errors.Is(err, errInvalidConfig) {
		return t.MakeInitErrorInvalidConfig(strings.TrimPrefix(err.Error(), errInvalidConfig.Error()+": "))
	}
	return t.MakeInitErrorFailed(err.Error())
}

var (
	errNoInit  = errors.New("collect called before a successful init")
	errNoProbe = errors.New("this plugin does not answer /probe")
)

func (r *registered) Collect() (t.Collection, error) {
	if r.gather == nil {
		return t.Collection{}, errNoInit
	}
	return r.collected(r.gather)
}

func (r *registered) Probe(target string, params [][2]string) (t.Collection, error) {
	if r.probe == nil {
		return t.Collection{}, errNoProbe
	}
	named := make(map[string]string, len(params))
	for _, p := range params {
		named[p[0]] = p[1]
	}
	reg := prometheus.NewRegistry()
	if err := r.probe(target, named, reg); err != nil {
		return t.Collection{}, err
	}
	return r.collected(reg)
}

// collected gathers g and converts. A gather error is logged, as
// promhttp's ContinueOnError does, and what was gathered is served; a
// family the exporter would drop is logged once and left out.
func (r *registered) collected(g prometheus.Gatherer) (t.Collection, error) {
	families, err := g.Gather()
	if err != nil {
		Log(Error, "gathering: "+err.Error())
	}
	c, problems := Convert(families)
	for _, p := range problems {
		if !r.problem[p.Family] {
			r.problem[p.Family] = true
			Log(Error, p.Error())
		}
	}
	return c, nil
}
