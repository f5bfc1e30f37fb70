//go:build !malgo

package audio

import (
	"errors"
	"io"
)

// cardsBuilt reports whether this build has sound cards: not without the
// malgo tag.
const cardsBuilt = false

var errNoCards = errors.New("audio: built without sound cards (build with -tags malgo)")

func cards() []DeviceInfo                           { return nil }
func openCardInput(string) (Input, error)           { return nil, errNoCards }
func openCardOutput(string) (io.WriteCloser, error) { return nil, errNoCards }
