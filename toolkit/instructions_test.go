package toolkit

import (
	"strings"
	"testing"
)

// The instructions describe the envelope's lists once.
func TestInstructionsDescribeEnvelope(t *testing.T) {
	for _, want := range []string{
		"alerts: [{severity, subject, metric, value number, threshold number, message, basis?}]",
		"errors: [{node?, kind?, message}]",
		"unavailable: [{what, why}]",
		"sources: [{method, path, status integer, ms number, error?, endpoint?}]",
	} {
		if got := InstructionsFor(nil); !strings.Contains(got, want) {
			t.Errorf("instructions lack %q:\n%s", want, got)
		}
	}
}
