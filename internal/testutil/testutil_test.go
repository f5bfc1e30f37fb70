package testutil

import (
	"math"
	"testing"
)

func TestRMS(t *testing.T) {
	s := make([]int16, 8000)
	for i := range s {
		s[i] = int16(16384 * math.Sin(2*math.Pi*440*float64(i)/8000))
	}
	if r := RMS(s); math.Abs(r-0.5/math.Sqrt2) > 0.01 {
		t.Errorf("RMS of a half-scale sine = %v, want %v", r, 0.5/math.Sqrt2)
	}
	if RMS(nil) != 0 {
		t.Error("RMS(nil) != 0")
	}
}

func TestMergeINI(t *testing.T) {
	got := MergeINI([]string{"listen=127.0.0.1:1", "dataDir=/x"}, `
[Settings]
listen=127.0.0.1:2
autoAnswer=all
[Account1]
label=a
`)
	want := "[Settings]\nlisten=127.0.0.1:2\ndataDir=/x\nautoAnswer=all\n\n[Account1]\nlabel=a\n"
	if got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
	if got := MergeINI(nil, ""); got != "[Settings]\n\n[Account1]\nlabel=local\n" {
		t.Errorf("default account: got %q", got)
	}
}

func TestFreePorts(t *testing.T) {
	seen := map[int]bool{}
	for range 20 {
		p := FreePort(t)
		if seen[p] {
			t.Fatalf("port %d handed out twice", p)
		}
		seen[p] = true
	}
	start := FreePortRange(t, 10)
	if start%2 != 0 {
		t.Errorf("range start %d is odd", start)
	}
}
