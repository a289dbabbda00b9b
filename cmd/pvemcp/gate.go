package main

import (
	"os"

	"github.com/rs/zerolog"

	"github.com/pvemcp/pvemcp/guard"
	"github.com/pvemcp/pvemcp/tools"
)

// EnvAuditLog overrides where the approval gate's audit log is written.
const EnvAuditLog = "PVEMCP_AUDIT_LOG"

// wireGate gives the write tools their approval gate: a plan store with an
// audit log, the approval mode and the protected guests of the config.
// Without an audit log the gate still works and says so in the log.
func wireGate(rt *runtime, log zerolog.Logger) {
	path := rt.cfg.AuditLog
	if path == "" {
		path = os.Getenv(EnvAuditLog)
	}
	if path == "" {
		p, err := guard.DefaultAuditPath()
		if err != nil {
			log.Warn().Err(err).Msg("no audit log path; plans are not audited")
		}
		path = p
	}
	var opts []guard.Option
	if path != "" {
		audit, err := guard.OpenAuditLog(path)
		if err != nil {
			log.Warn().Err(err).Msg("audit log unavailable; plans are not audited")
		} else {
			opts = append(opts, guard.WithAudit(audit))
			prev := rt.cleanup
			rt.cleanup = func() { prev(); _ = audit.Close() }
		}
	}
	rt.env.Gate = tools.NewGate(guard.NewStore(opts...), rt.cfg.Approval, rt.cfg.Protected)
}
