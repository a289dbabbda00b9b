package main

import (
	"os"

	"github.com/rs/zerolog"

	"github.com/pvemcp/pvemcp/guard"
	"github.com/pvemcp/pvemcp/toolkit"
)

// EnvAuditLog overrides where the approval gate's audit log is written.
const EnvAuditLog = "PVEMCP_AUDIT_LOG"

// wireGate gives the write tools their approval gate: a plan store with an
// audit log, the approval mode and the protected guests of the config.
// Writes fail closed: when the audit log cannot be opened every plan is
// refused (naming why), while the read tools work as usual.
//
// The plans are kept where the configuration says (planStore is the
// command's default): a plan store that cannot be opened is, like the
// audit log, a reason to refuse every plan, not to stop serving reads.
func wireGate(rt *runtime, log zerolog.Logger, planStore string) {
	path := rt.cfg.AuditLog
	if path == "" {
		path = os.Getenv(EnvAuditLog)
	}
	var audit *guard.AuditLog
	var err error
	if path == "" {
		path, err = guard.DefaultAuditPath()
	}
	if err == nil {
		audit, err = guard.OpenAuditLog(path)
	}
	if err != nil {
		log.Error().Err(err).Msg("audit log unavailable: write tools refuse every plan until it can be written (set --audit-log or " + EnvAuditLog + ")")
		audit = guard.UnavailableAuditLog(err)
	} else {
		prev := rt.cleanup
		rt.cleanup = func() { prev(); _ = audit.Close() }
	}
	backend, err := openPlanBackend(rt.cfg, planStore)
	if err != nil {
		log.Error().Err(err).Msg("plan store unavailable: write tools refuse every plan")
		backend = unavailableBackend{err: err}
	} else {
		log.Debug().Str("plan_store", backend.Name()).Msg("plan store")
	}
	store := guard.NewStore(guard.WithAudit(audit), guard.WithBackend(backend))
	prev := rt.cleanup
	rt.cleanup = func() { prev(); _ = store.Close() }
	rt.env.Gate = toolkit.NewGate(store, rt.cfg.Approval, rt.cfg.Protected)
}
