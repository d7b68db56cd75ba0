//go:build !wasip1

package sdk

import (
	"fmt"
	"os"
)

var levelNames = [...]string{"trace", "debug", "info", "warn", "error"}

func log(level Level, message string) {
	name := "error"
	if int(level) < len(levelNames) {
		name = levelNames[level]
	}
	fmt.Fprintf(os.Stderr, "%s: %s\n", name, message)
}
