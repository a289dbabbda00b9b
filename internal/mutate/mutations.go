package main

import (
	"bytes"
	_ "embed"
	"errors"
	"fmt"

	"gopkg.in/yaml.v3"
)

// mutationsYAML lists the changes the tests must catch (data, kept apart
// from the code that applies them).
//
//go:embed mutations.yaml
var mutationsYAML []byte

// loadMutations decodes the list strictly: an unknown key, an entry
// without a name, file, old text or packages, an entry that changes
// nothing, or a name given twice is an error naming the entry.
func loadMutations(b []byte) ([]Mutation, error) {
	var ms []Mutation
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	if err := dec.Decode(&ms); err != nil {
		return nil, err
	}
	if len(ms) == 0 {
		return nil, errors.New("no mutation listed")
	}
	seen := map[string]bool{}
	for i, m := range ms {
		switch {
		case m.Name == "":
			return nil, fmt.Errorf("entry %d has no name", i+1)
		case seen[m.Name]:
			return nil, fmt.Errorf("%q is listed twice", m.Name)
		case m.File == "" || m.Old == "" || len(m.Pkgs) == 0:
			return nil, fmt.Errorf("%q needs file, old and pkgs", m.Name)
		case m.Old == m.New:
			return nil, fmt.Errorf("%q changes nothing (old equals new)", m.Name)
		}
		seen[m.Name] = true
	}
	return ms, nil
}
