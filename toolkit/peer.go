package toolkit

import (
	"context"
	"errors"
)

// Peer is the MCP client at the other end of a tool call, as far as a tool
// needs to know it: which protocol era the request is of, whether its user
// can be asked, and the notifications it takes. The MCP layer (package
// mcpserver) installs one per call with WithPeer; without one (pvemcp call,
// tests of the typed layer) a call sees a client of the 2025 era that
// cannot be asked and takes no notifications.
type Peer interface {
	// Stateless reports a request of the 2026-07-28 protocol era: it has
	// no session, and the tool list may not depend on earlier requests.
	Stateless() bool
	// CanElicit reports that the client can show its user a form
	// (form-mode elicitation).
	CanElicit() bool
	// Answer returns the user's answer to the question asked under id by
	// an earlier attempt of this call, with the state that attempt gave to
	// Ask; ok is false on a first attempt.
	Answer(id string) (a Answer, state string, ok bool)
	// Ask asks the user q through the client under id; state comes back
	// with the answer. It returns ErrAsked, which the tool returns: the
	// call ends now, and the client calls again with the answer.
	Ask(id, state string, q Question) error
	// Progress reports progress (done of total, and what is going on) when
	// the client asked for it; else it does nothing.
	Progress(done, total float64, message string)
	// ToolsChanged tells the client that its tool list changed, when its
	// session can be told; else it does nothing.
	ToolsChanged()
}

// Question is a form shown to the user: a message and the JSON Schema of
// the (flat) object the user fills in.
type Question struct {
	Message string
	Schema  map[string]any
}

// Answer is the user's reply to a Question: Action is AnswerAccept (then
// Content holds the filled-in form), AnswerDecline or AnswerCancel.
type Answer struct {
	Action  string
	Content map[string]any
}

// Actions of an Answer.
const (
	AnswerAccept  = "accept"
	AnswerDecline = "decline"
	AnswerCancel  = "cancel"
)

// ErrAsked is what Peer.Ask returns: the tool stops and the MCP layer
// answers with the question instead of the tool's result.
var ErrAsked = errors.New("waiting for the user's answer in the client")

type peerKey struct{}

// WithPeer returns ctx whose tool calls see p as their client.
func WithPeer(ctx context.Context, p Peer) context.Context {
	return context.WithValue(ctx, peerKey{}, p)
}

// PeerFrom returns the client of this call (one that cannot be asked and
// takes no notifications when the MCP layer installed none).
func PeerFrom(ctx context.Context) Peer {
	if p, ok := ctx.Value(peerKey{}).(Peer); ok && p != nil {
		return p
	}
	return noPeer{}
}

// noPeer is the client of a call made without the MCP layer.
type noPeer struct{}

func (noPeer) Stateless() bool                      { return false }
func (noPeer) CanElicit() bool                      { return false }
func (noPeer) Answer(string) (Answer, string, bool) { return Answer{}, "", false }
func (noPeer) Ask(string, string, Question) error   { return errors.New("the client cannot be asked") }
func (noPeer) Progress(float64, float64, string)    {}
func (noPeer) ToolsChanged()                        {}
