package httpapi

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// TokenFile is the name of the generated API token in the data directory.
const TokenFile = "api-token"

// LoadToken returns the API token: configured when it is not empty, else
// the one in dataDir/api-token, which is generated (32 random bytes,
// base64url, mode 0600) on first use and reused after. A token file that
// others can read, or that is empty, is an error rather than a secret
// silently shared or replaced.
func LoadToken(configured, dataDir string) (string, error) {
	if configured != "" {
		return configured, nil
	}
	path := filepath.Join(dataDir, TokenFile)
	b, err := os.ReadFile(path)
	switch {
	case err == nil:
		fi, err := os.Stat(path)
		if err != nil {
			return "", fmt.Errorf("API token: %w", err)
		}
		if fi.Mode().Perm()&0o077 != 0 {
			return "", fmt.Errorf("API token: %s is readable by others (mode %v); chmod 600 it", path, fi.Mode().Perm())
		}
		tok := strings.TrimSpace(string(b))
		if tok == "" {
			return "", fmt.Errorf("API token: %s is empty; delete it to have a new one generated", path)
		}
		return tok, nil
	case !errors.Is(err, fs.ErrNotExist):
		return "", fmt.Errorf("API token: %w", err)
	}
	tok := randomString(32)
	if err := os.MkdirAll(dataDir, 0o700); err != nil {
		return "", fmt.Errorf("API token: %w", err)
	}
	// O_EXCL: a token another daemon wrote meanwhile is not overwritten.
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, fs.ErrExist) {
		return LoadToken("", dataDir)
	}
	if err != nil {
		return "", fmt.Errorf("API token: %w", err)
	}
	_, err = f.WriteString(tok + "\n")
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(path)
		return "", fmt.Errorf("API token: writing %s: %w", path, err)
	}
	return tok, nil
}

// randomString returns n random bytes from crypto/rand, base64url-encoded.
func randomString(n int) string {
	return base64.RawURLEncoding.EncodeToString(randomBytes(n))
}

// randomBytes returns n bytes from crypto/rand.
func randomBytes(n int) []byte {
	b := make([]byte, n)
	rand.Read(b) // never fails (Go 1.24+: it panics rather than return an error)
	return b
}

// secretEqual compares a and b in time independent of their contents and
// lengths.
func secretEqual(a, b string) bool {
	ha, hb := sha256.Sum256([]byte(a)), sha256.Sum256([]byte(b))
	return subtle.ConstantTimeCompare(ha[:], hb[:]) == 1
}
