//go:build !malgo

package audio

import (
	"strings"
	"testing"
)

// Without the malgo tag a card id says how to get sound cards, and no card
// is listed.
func TestCardNeedsMalgoBuild(t *testing.T) {
	if _, err := ParseDevice("card:default"); err == nil || !strings.Contains(err.Error(), "-tags malgo") {
		t.Errorf("ParseDevice(card:default) = %v, want an error naming -tags malgo", err)
	}
	for _, d := range Devices() {
		if strings.HasPrefix(d.ID, "card:") {
			t.Errorf("Devices() lists %s in a build without cards", d.ID)
		}
	}
}
