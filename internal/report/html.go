package report

import (
	"bytes"
	_ "embed"
	"encoding/base64"
	"fmt"
	"html/template"
	"io"
	"sync"
	"time"

	"golang.org/x/image/font/sfnt"
	"gonum.org/v1/plot/font"
)

//go:embed report.html.tmpl
var htmlTemplateText string

var htmlTemplate = template.Must(template.New("report").Funcs(template.FuncMap{
	"num":    num,
	"pct":    pct,
	"dur":    optDur,
	"fdur":   fmtDur,
	"float":  optFloat,
	"svg":    func(s string) template.HTML { return template.HTML(s) }, // gonum's SVG escapes its text
	"rate":   func(f *float64) string { return optPct(f) },
	"count":  func(n *int64) string { return optNum(n) },
	"orText": orText,
	"time":   func(s string) string { return s[11:19] },
}).Parse(htmlTemplateText))

// WriteHTML writes one self-contained HTML page: figures, tables and the
// charts as inline SVG, with the chart font embedded. It loads nothing
// from the network and runs no script. now is printed as the generation
// time.
func (r *Report) WriteHTML(w io.Writer, now time.Time) error {
	charts, err := r.Charts()
	if err != nil {
		return err
	}
	css, err := fontFaceCSS()
	if err != nil {
		return err
	}
	data := struct {
		R         *Report
		Charts    []Chart
		FontFace  template.CSS
		Generated string
		Source    string
		Window    string
	}{r, charts, template.CSS(css), now.UTC().Format("2006-01-02 15:04:05 UTC"), r.SourceLine(), r.WindowLine()}
	return htmlTemplate.Execute(w, data)
}

var fontCSS = sync.OnceValues(func() (string, error) {
	face := font.DefaultCache.Lookup(font.From(chartFont, 10), 10)
	if face.Face == nil {
		return "", fmt.Errorf("chart font %s is not in gonum/plot's font cache", chartFont.Name())
	}
	var buf sfnt.Buffer
	family, err := face.Face.Name(&buf, sfnt.NameIDFamily)
	if err != nil {
		return "", fmt.Errorf("chart font name: %w", err)
	}
	var raw bytes.Buffer
	if _, err := face.Face.WriteSourceTo(&buf, &raw); err != nil {
		return "", fmt.Errorf("chart font data: %w", err)
	}
	return fmt.Sprintf("@font-face{font-family:%q;font-weight:normal;font-style:normal;src:url(data:font/ttf;base64,%s) format(\"truetype\");}",
		family, base64.StdEncoding.EncodeToString(raw.Bytes())), nil
})

// fontFaceCSS is the @font-face rule that embeds the chart font.
func fontFaceCSS() (string, error) { return fontCSS() }

func optPct(f *float64) string {
	if f == nil {
		return "n/a"
	}
	return pct(*f)
}

func optNum(n *int64) string {
	if n == nil {
		return "n/a"
	}
	return num(*n)
}
