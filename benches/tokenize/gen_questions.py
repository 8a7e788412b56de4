#!/usr/bin/env python3
"""Writes Visual7W-like multiple-choice questions as JSON lines (Question, A, B, C, D, answer),
seeded, so every run gives the same file. The default count is the size of Visual7W telling
(69,817 + 28,020 + 42,031 = 139,868 questions).

Usage: gen_questions.py OUT.jsonl [COUNT] [SEED]
"""

import json
import random
import sys

COLORS = ["red", "blue", "green", "white", "black", "yellow", "brown", "gray", "orange", "pink", "purple"]
THINGS = ["bus", "man", "woman", "dog", "cat", "car", "shirt", "sign", "table", "plate", "umbrella", "kite",
          "train", "horse", "building", "tree", "sky", "giraffe", "elephant", "pizza", "bench", "boat",
          "skateboard", "surfboard", "truck", "clock", "window", "fence", "road", "grass", "water", "cake"]
PLACES = ["at a beach", "in a kitchen", "on a street", "in a park", "at an airport", "in a living room",
          "on a farm", "in a zoo", "at a train station", "in a restaurant", "on a tennis court", "in a bathroom"]
TIMES = ["daytime", "at night", "in the morning", "during the evening", "in winter", "in summer", "at sunset"]
PEOPLE = ["a man", "a woman", "a child", "two people", "a police officer", "a chef", "a skier", "nobody",
          "a boy", "a girl", "a tennis player", "a group of tourists"]
REASONS = ["to stay warm", "to protect from the sun", "because it is raining", "for safety", "to eat",
           "to play a game", "to travel", "to celebrate a birthday", "to sell goods", "for decoration"]
NUMBERS = ["one", "two", "three", "four", "five", "six", "none", "1", "2", "3", "4", "12", "3/4", "25%"]
MANNERS = ["by bus", "on foot", "by plane", "quickly", "carefully", "with a fork", "by hand", "slowly"]
NAMES = ["McDonald's", "IKEA", "Starbucks", "St. Mary's", "NYC", "U.S.A.", "Café Olé", "Zürich", "São Paulo"]


def question(rng):
    kind = rng.choice(["what", "what", "where", "when", "who", "why", "how"])
    thing, color = rng.choice(THINGS), rng.choice(COLORS)
    if kind == "what":
        q = rng.choice([f"What color is the {thing}?", f"What is the {thing} doing?",
                        f"What is on the {thing}?", f"What does the sign on the {thing} say?",
                        f"What is the {color} {thing} made of?"])
        pool = [c.capitalize() + "." for c in COLORS] + [f"The {t}." for t in THINGS] + [n + "." for n in NAMES]
    elif kind == "where":
        q = rng.choice([f"Where is the {thing}?", "Where was the picture taken?", f"Where is the {color} {thing} parked?"])
        pool = [p[0].upper() + p[1:] + "." for p in PLACES]
    elif kind == "when":
        q = rng.choice(["When was the photo taken?", f"When is the {thing} used?"])
        pool = [t[0].upper() + t[1:] + "." for t in TIMES]
    elif kind == "who":
        q = rng.choice([f"Who is holding the {thing}?", f"Who is next to the {color} {thing}?", "Who took the photo?"])
        pool = [p[0].upper() + p[1:] + "." for p in PEOPLE]
    elif kind == "why":
        q = rng.choice([f"Why is the {thing} {color}?", f"Why is the man wearing a {thing}?", f"Why is there a {thing}?"])
        pool = [r[0].upper() + r[1:] + "." for r in REASONS]
    else:
        q = rng.choice([f"How many {thing}s are there?", f"How is the {thing} moving?", f"How old is the {thing}?"])
        pool = [n.capitalize() + "." for n in NUMBERS] + [m.capitalize() + "." for m in MANNERS]
    options = rng.sample(pool, 4)
    return q, options


def main():
    out = sys.argv[1]
    count = int(sys.argv[2]) if len(sys.argv) > 2 else 139868
    rng = random.Random(int(sys.argv[3]) if len(sys.argv) > 3 else 20240601)
    with open(out, "w", encoding="utf-8") as f:
        for i in range(count):
            q, opts = question(rng)
            row = {"ID": i, "Question": q, "A": opts[0], "B": opts[1], "C": opts[2], "D": opts[3],
                   "answer": "ABCD"[rng.randrange(4)]}
            f.write(json.dumps(row, ensure_ascii=False) + "\n")


if __name__ == "__main__":
    main()
