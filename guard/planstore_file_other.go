//go:build !unix

package guard

import "errors"

func lockFile(string) (func(), error) {
	return nil, errors.New("the file plan store needs file locks, which this system does not offer; use --plan-store redis://")
}
