package proxmox

import (
	"errors"
	"strings"
)

// CheckTokenID says what is wrong with an API token id
// ("user@realm!tokenname"), or nil. Like every token error it quotes no
// part of the value (a secret may have been pasted in its place); it names
// the part at fault.
func CheckTokenID(id string) error {
	if tokenIDRE.MatchString(id) {
		return nil
	}
	user, name, ok := strings.Cut(id, "!")
	switch {
	case !ok:
		return errors.New("API token id has no '!': it must look like user@realm!tokenname")
	case !strings.Contains(user, "@") || strings.HasPrefix(user, "@") || strings.HasSuffix(user, "@"):
		return errors.New("API token id: the part before '!' must be a user like user@realm (e.g. name@pve)")
	case len(name) == 1 && isLetter(name[0]):
		return errors.New("API token id: the token name after '!' is too short (Proxmox token names have at least 2 characters)")
	case name == "" || !isLetter(name[0]):
		return errors.New("API token id: the token name after '!' must start with a letter")
	}
	return errors.New("API token id: the token name after '!' may hold only letters, digits, '.', '-' and '_'")
}

func isLetter(b byte) bool { return b >= 'a' && b <= 'z' || b >= 'A' && b <= 'Z' }
