// Package schemas holds pvemcp's output contract: one golden file per tool
// under tools/, each the tool's tools/list entry (name, title, description,
// input and output schema, annotations). The tests in this package fail when
// a tool's contract changes without its snapshot; run `make snapshots`
// (UPDATE_SNAPSHOTS=1) after an intended change and review the diff.
//
// tool-args.json, also written by make snapshots (tools' TestPublishedToolArgs),
// holds the arguments each tool's own tests declare for the demo cluster;
// the end-to-end suite and cmd/pvemcp's leak test call tools with them.
package schemas
