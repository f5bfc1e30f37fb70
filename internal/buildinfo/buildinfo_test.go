package buildinfo

import (
	"runtime"
	"runtime/debug"
	"testing"
)

func TestFromBuildInfo(t *testing.T) {
	stamped := &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: "v1.2.3"}, Settings: []debug.BuildSetting{
		{Key: "vcs", Value: "git"}, {Key: "vcs.revision", Value: "2f08397c"}, {Key: "vcs.modified", Value: "true"},
	}}
	tests := []struct {
		name string
		bi   *debug.BuildInfo
		rev  string
		want Info
	}{
		{"stamped", stamped, "", Info{Version: "v1.2.3", Revision: "2f08397c", Modified: true, GoVersion: "go1.26.8"}},
		{"stamp wins over -X", stamped, "abc", Info{Version: "v1.2.3", Revision: "2f08397c", Modified: true, GoVersion: "go1.26.8"}},
		{"not stamped", &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: "(devel)"}}, "", Info{Version: "(devel)", GoVersion: "go1.26.8"}},
		{"-X revision", &debug.BuildInfo{GoVersion: "go1.26.8"}, "abc", Info{Version: "(devel)", Revision: "abc", GoVersion: "go1.26.8"}},
		{"no build info", nil, "", Info{Version: "(devel)", GoVersion: runtime.Version()}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := fromBuildInfo(tt.bi, tt.rev); got != tt.want {
				t.Errorf("got %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestString(t *testing.T) {
	tests := []struct {
		in   Info
		want string
	}{
		{Info{Version: "v1.2.3", Revision: "abc123", GoVersion: "go1.26"}, "gophone v1.2.3 (revision abc123) go1.26"},
		{Info{Version: "(devel)", Revision: "abc123", Modified: true, GoVersion: "go1.26"}, "gophone (devel) (revision abc123, modified) go1.26"},
		{Info{Version: "(devel)", GoVersion: "go1.26"}, "gophone (devel) (revision unknown) go1.26"},
	}
	for _, tt := range tests {
		if got := tt.in.String(); got != tt.want {
			t.Errorf("String() = %q, want %q", got, tt.want)
		}
	}
}
