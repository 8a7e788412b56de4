#!/usr/bin/env python3
"""Writes a Visual7W-telling-shaped JSON and an images folder of empty files, deterministically.

Same shape as the real dataset_v7w_telling.json: 47,300 images split 50/20/30 by image, 139,868 QAs
(train 69,817, val 28,020, test 42,031), question types in the val proportions of the toolkit
README, sentence-style answers, three wrong answers each. A few records are made invalid on purpose
(too few choices, duplicate options, empty text, missing image file) so every drop path runs.

    python3 gen_v7w.py OUT_DIR [--seed 7]
writes OUT_DIR/dataset_v7w_telling.json and OUT_DIR/images/v7w_<id>.jpg (empty files).
Standard library only.
"""

import argparse
import json
import os
import random

SPLITS = [("train", 23_650, 69_817), ("val", 9_460, 28_020), ("test", 14_190, 42_031)]
TYPES = [("what", 13_296), ("where", 4_590), ("how", 4_211), ("who", 2_879), ("why", 1_782), ("when", 1_262)]
NOUNS = ("man woman dog cat car bus tree table plate sign shirt hat street building sky window "
         "train horse bench umbrella phone laptop boat field kite pizza clock bag fence wall cup").split()
VERBS = "holding wearing doing eating riding watching carrying standing sitting looking".split()
ADJS = "red blue green white black yellow small large wooden metal old young tall open".split()
PLACES = ["On the table", "In the sky", "On the street", "In the water", "On a bench", "In the park",
          "Under the tree", "Near the window", "On the wall", "In the kitchen", "At the beach"]
WHEN = ["During the day", "At night", "In the morning", "In the evening", "In winter", "In summer"]
WHO = ["A man", "A woman", "A child", "The chef", "A skier", "Two people", "The driver", "A boy"]
WHY = ["To stay dry", "For safety", "To eat", "Because it is cold", "To catch the ball", "For fun"]
HOW = ["One", "Two", "Three", "Four", "Five", "Cloudy", "Sunny", "Very happy", "By car"]


def sentence(rng, words):
    text = " ".join(words)
    return text[0].upper() + text[1:] + "."


def answer(rng, kind):
    pools = {"where": PLACES, "when": WHEN, "who": WHO, "why": WHY, "how": HOW}
    if kind in pools:
        base = rng.choice(pools[kind])
        return base + ("." if rng.random() < 0.8 else " " + rng.choice(NOUNS) + ".")
    return sentence(rng, [rng.choice(["a", "the", ""]), rng.choice(ADJS), rng.choice(NOUNS)]).replace("  ", " ").lstrip()


def question(rng, kind):
    noun, adj = rng.choice(NOUNS), rng.choice(ADJS)
    templates = {
        "what": [f"What is the {noun} {rng.choice(VERBS)}?", f"What color is the {adj} {noun}?",
                 f"What is on the {noun}?", f"What is behind the {adj} {noun} near the {rng.choice(NOUNS)}?"],
        "where": [f"Where is the {noun}?", f"Where was this picture taken?", f"Where is the {adj} {noun} parked?"],
        "when": [f"When was the photo taken?", f"When is the {noun} used?"],
        "who": [f"Who is {rng.choice(VERBS)} the {noun}?", f"Who is in the photo?"],
        "why": [f"Why is the {noun} {rng.choice(VERBS)}?", f"Why is the {adj} {noun} there?"],
        "how": [f"How many {noun}s are there?", f"How is the weather?", f"How does the {noun} look?"],
    }
    return rng.choice(templates[kind])


def options(rng, kind):
    right = answer(rng, kind)
    wrong = []
    while len(wrong) < 3:
        candidate = answer(rng, kind)
        if candidate.lower() != right.lower() and candidate.lower() not in (w.lower() for w in wrong):
            wrong.append(candidate)
    return right, wrong


def spoil(rng, qa):
    """Makes about 0.3% of the records invalid, one way or another."""
    roll = rng.random()
    if roll < 0.001:
        qa["multiple_choices"] = qa["multiple_choices"][:2]
    elif roll < 0.002:
        qa["multiple_choices"][1] = qa["answer"].upper()
    elif roll < 0.003:
        qa["answer"] = " "


def qa_counts(rng, images, total):
    counts = [1] * images
    for _ in range(total - images):
        counts[rng.randrange(images)] += 1
    return counts


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("out")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    kinds = [k for k, _ in TYPES]
    weights = [w for _, w in TYPES]
    image_ids = rng.sample(range(1, 2_420_000), sum(n for _, n, _ in SPLITS))
    qa_ids = iter(sorted(rng.sample(range(1, 500_000), sum(t for _, _, t in SPLITS))))
    images, position = [], 0
    for split, count, total in SPLITS:
        for qa_count in qa_counts(rng, count, total):
            image_id = image_ids[position]
            position += 1
            pairs = []
            for _ in range(qa_count):
                kind = rng.choices(kinds, weights)[0]
                right, wrong = options(rng, kind)
                qa = {"qa_id": next(qa_ids), "image_id": image_id, "question": question(rng, kind),
                      "answer": right, "multiple_choices": wrong, "type": kind}
                spoil(rng, qa)
                pairs.append(qa)
            images.append({"image_id": image_id, "filename": f"v7w_{image_id}.jpg", "split": split, "qa_pairs": pairs})
    rng.shuffle(images)
    os.makedirs(os.path.join(args.out, "images"), exist_ok=True)
    missing = set(rng.sample(range(len(images)), 40))
    for index, image in enumerate(images):
        if index not in missing:
            open(os.path.join(args.out, "images", image["filename"]), "wb").close()
    with open(os.path.join(args.out, "dataset_v7w_telling.json"), "w") as out:
        json.dump({"images": images}, out)
    print(f"{len(images)} images, {sum(len(i['qa_pairs']) for i in images)} QAs, {len(missing)} image files missing")


if __name__ == "__main__":
    main()
