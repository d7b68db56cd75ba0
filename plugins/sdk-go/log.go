package sdk

// Level is the severity of a log record, as in the exporter's
// `--log.level`.
type Level uint8

// The levels.
const (
	Trace Level = iota
	Debug
	Info
	Warn
	Error
)

// Log writes message to the exporter's log, tagged with the plugin's name
// (natively, to stderr).
func Log(level Level, message string) {
	log(level, message)
}
