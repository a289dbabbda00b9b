package tools

import "github.com/pvemcp/pvemcp/analyze"

// Thresholds are the alert limits in percent; zero fields take the defaults
// (RAM 85, storage 90, CPU 90, critical 95). The logic lives in analyze.
type Thresholds = analyze.Thresholds
