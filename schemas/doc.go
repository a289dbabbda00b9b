// Package schemas holds pvemcp's output contract: one golden file per tool
// under tools/, each the tool's tools/list entry (name, title, description,
// input and output schema, annotations). The tests in this package fail when
// a tool's contract changes without its snapshot; run `make snapshots`
// (UPDATE_SNAPSHOTS=1) after an intended change and review the diff.
package schemas
