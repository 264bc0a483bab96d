"""Question and answer phrasings of the image tasks, modelled on the SPAR appendix examples.

STEMS[key] are question stems (placeholders: {a} {b} {c} {d} object labels, {ref} a given
depth, {rel} a relation phrase, {q}/{unit} a quantity); a key "<key>:<format>" overrides the
stems for that format. A question is: stem, the centre-point note, a multi-view note, then the
format's part (select options + closing sentence, or a fill/sentence/judge instruction).
ANSWERS[key] are sentence-format answers. Every pool has at least 8 question phrasings.
"""

from __future__ import annotations

CENTER_NOTE = "Calculate or judge based on the 3D center points of these objects."
UNIT_NOTE = "The unit is meter."

STEMS: dict[str, list[str]] = {
    "depth_oc": [
        "The {a} (red point) is located at a depth of {ref} meters. Estimate the depth of the {b} (blue point).",
        "Given the {a} (red point) is located at a depth of {ref} meters in the Z-axis of the camera coordinate system, how far in depth is the {b} (blue point) at its center?",
        "The {a} (red point) at a depth of {ref} meters serves as a reference. How deep is the {b} (blue point)?",
        "With the {a} (red point) having a depth of {ref} meters, determine the depth of the {b} (blue point).",
        "If the {a} (red point) is positioned at {ref} meters, estimate the depth of the {b} (blue point).",
        "Taking the depth of the {a} (red point) as {ref} meters, what is the depth of the {b} (blue point) from the camera?",
        "The center of the {a} (red point) lies {ref} meters deep along the camera's viewing axis. How deep does the center of the {b} (blue point) lie?",
        "Using the {a} (red point), whose depth is {ref} meters, as a reference, work out the depth of the {b} (blue point).",
        "Knowing that the {a} (red point) sits {ref} meters from the camera plane, how far from the camera plane is the {b} (blue point)?",
    ],
    "depth_oo": [
        "Assume the depth of the {a} (red point) is {ref} meters. How much deeper or shallower is the {c} (green point) relative to the {b} (blue point), measured in meters?",
        "The {a} (red point) is at a depth of {ref} meters. What is the depth difference between the {b} (blue point) and the {c} (green point)?",
        "Given that the {a} (red point) lies at {ref} meters in depth, by how many meters do the depths of the {b} (blue point) and the {c} (green point) differ?",
        "With the {a} (red point) at a depth of {ref} meters as a reference, estimate the gap in depth between the {c} (green point) and the {b} (blue point).",
        "Taking the depth of the {a} (red point) as {ref} meters, how far apart in depth are the {b} (blue point) and the {c} (green point)?",
        "If the {a} (red point) is {ref} meters deep, what is the absolute difference in depth between the {c} (green point) and the {b} (blue point)?",
        "The {a} (red point) has a depth of {ref} meters. Along the camera's viewing axis, how much farther or nearer is the {c} (green point) than the {b} (blue point)?",
        "Using the {a} (red point) at {ref} meters deep for scale, determine how much the depth of the {c} (green point) differs from that of the {b} (blue point).",
    ],
    "dist_oc": [
        "How far is the {a} (red point) from the camera?",
        "What is the distance between the camera and the center of the {a} (red point), in meters?",
        "Estimate the distance from the observer to the {a} (red point).",
        "Calculate the Euclidean distance in meters from the camera to the {a} (red point).",
        "How many meters separate the camera from the {a} (red point)?",
        "Measure the straight-line distance between the viewer and the {a} (red point).",
        "What is the straight-line distance from the camera center to the {a} (red point)?",
        "Determine how far away the {a} (red point) is from where the camera stands.",
    ],
    "dist_oo": [
        "Calculate the shortest Euclidean distance in meters from the center of the {a} (red point) to the {b} (blue point).",
        "How far apart are the {a} (red point) and the {b} (blue point)?",
        "What is the distance between the {a} (red point) and the {b} (blue point) in meters?",
        "Estimate the distance separating the {a} (red point) from the {b} (blue point).",
        "Measure the straight-line distance between the {a} (red point) and the {b} (blue point).",
        "How many meters lie between the {a} (red point) and the {b} (blue point)?",
        "Determine the gap in meters between the centers of the {a} (red point) and the {b} (blue point).",
        "What is the straight-line separation between the {b} (blue point) and the {a} (red point)?",
    ],
    "distI_oc": [
        "Which object is {rel} the camera: the {a} or the {b}?",
        "Between the {a} and the {b}, which one is {rel} the observer?",
        "Of the {a} and the {b}, which lies {rel} the camera?",
        "Compare the {a} and the {b}. Which is {rel} the viewer?",
        "Which is positioned {rel} the camera, the {a} or the {b}?",
        "Looking at the {a} and the {b}, determine which one is {rel} the observer.",
        "Considering where the camera stands, which object, the {a} or the {b}, is {rel} it?",
        "Is the {a} or the {b} {rel} the camera?",
    ],
    "distI_oo": [
        "Between the {b} (green point) and the {c} (blue point), which object is positioned {rel} the {a} (red point)?",
        "Which object lies {rel} the {a} (red point): the {b} (green point) or the {c} (blue point)?",
        "Compare the positions of the {b} (green point) and the {c} (blue point). Which is {rel} the {a} (red point)?",
        "Decide whether the {b} (green point) or the {c} (blue point) is {rel} the {a} (red point).",
        "Relative to the {a} (red point), which is {rel} it, the {b} (green point) or the {c} (blue point)?",
        "Of the {b} (green point) and the {c} (blue point), which one sits {rel} the {a} (red point)?",
        "Taking the {a} (red point) as the anchor, which object is {rel} it: the {b} (green point) or the {c} (blue point)?",
        "Which of the two objects, the {b} (green point) or the {c} (blue point), is {rel} the {a} (red point)?",
    ],
    "rel_oo": [
        "From the observer's viewpoint, what is the position of the {a} (red bbox) relative to the {b} (blue bbox)?",
        "Describe where the {a} (red bbox) is relative to the {b} (blue bbox) as seen from the camera.",
        "How is the {a} (red bbox) positioned with respect to the {b} (blue bbox) from the camera's perspective?",
        "What is the spatial relationship of the {a} (red bbox) to the {b} (blue bbox) in the camera's view?",
        "Seen from the observer, where does the {a} (red bbox) lie compared with the {b} (blue bbox)?",
        "Relative to the {b} (blue bbox), where is the {a} (red bbox) located from the viewer's standpoint?",
        "Explain the placement of the {a} (red bbox) in relation to the {b} (blue bbox) from the camera's point of view.",
        "From the camera's perspective, how does the {a} (red bbox) sit relative to the {b} (blue bbox)?",
    ],
    "rel_oo:judge": [
        "Is the {a} (red bbox) {rel} the {b} (blue bbox) from the camera's viewpoint?",
        "From the observer's perspective, is the {a} (red bbox) {rel} the {b} (blue bbox)?",
        "Judge whether the {a} (red bbox) is {rel} the {b} (blue bbox), as seen from the camera.",
        "Seen from the camera, the {a} (red bbox) is {rel} the {b} (blue bbox). Is this statement correct?",
        "Does the {a} (red bbox) appear {rel} the {b} (blue bbox) from the observer's point of view?",
        "Consider the camera's viewpoint. Is the {a} (red bbox) located {rel} the {b} (blue bbox)?",
        "Would the observer see the {a} (red bbox) {rel} the {b} (blue bbox)?",
        "Is it correct that the {a} (red bbox) is {rel} the {b} (blue bbox) from the camera's perspective?",
    ],
    "rel_oc": [
        "What is the direction of the {a} (red bbox) relative to the observer's primary viewpoint?",
        "Describe the spatial orientation of the {a} (red bbox) relative to the observer.",
        "Where is the {a} (red bbox) located with respect to the observer of the main view?",
        "From the observer's main viewpoint, in which direction does the {a} (red bbox) lie?",
        "How is the {a} (red bbox) positioned relative to the observer standing at the main view?",
        "Relative to the observer's position and heading in the main view, where is the {a} (red bbox)?",
        "Locate the {a} (red bbox) with respect to the observer of the first image.",
        "Seen from the observer of the main view, what is the position of the {a} (red bbox)?",
    ],
    "imag_oc": [
        "How does the positional relationship of the {a} (red bbox) to the observer evolve once the observer shifts to the 3D center of the {b} (green bbox) and faces the {c} (blue bbox)?",
        "How does the observer's shift to the 3D center of the {b} (green bbox) and orientation toward the {c} (blue bbox) affect the positioning of the {a} (red bbox)?",
        "Imagine the observer moves to the center of the {b} (green bbox) and looks at the {c} (blue bbox). Where is the {a} (red bbox) relative to the observer then?",
        "Suppose the observer stands at the {b} (green bbox) facing the {c} (blue bbox). Describe the position of the {a} (red bbox) relative to the observer.",
        "If the observer walked to the center of the {b} (green bbox) and turned toward the {c} (blue bbox), where would the {a} (red bbox) be?",
        "After relocating to the {b} (green bbox) and facing the {c} (blue bbox), how would the observer see the {a} (red bbox) positioned?",
        "Picture yourself at the center of the {b} (green bbox), looking toward the {c} (blue bbox). In which direction is the {a} (red bbox)?",
        "The observer moves to the {b} (green bbox) and turns to face the {c} (blue bbox). What is the position of the {a} (red bbox) relative to the observer now?",
    ],
    "imag_oo": [
        "Once the observer moves to the 3D center of the {b} (green bbox) and faces the {c} (blue bbox), what is the position of the {a} (red bbox) relative to the {d} (yellow bbox)?",
        "How does the relationship between the {a} (red bbox) and the {d} (yellow bbox) look after the observer shifts to the {b} (green bbox) and faces the {c} (blue bbox)?",
        "Imagine standing at the center of the {b} (green bbox) and looking at the {c} (blue bbox). Where is the {a} (red bbox) relative to the {d} (yellow bbox)?",
        "Suppose the observer relocates to the {b} (green bbox), facing the {c} (blue bbox). Describe the position of the {a} (red bbox) with respect to the {d} (yellow bbox).",
        "If the observer walked to the {b} (green bbox) and turned toward the {c} (blue bbox), how would the {a} (red bbox) be placed relative to the {d} (yellow bbox)?",
        "After the observer moves to the 3D center of the {b} (green bbox) and orients toward the {c} (blue bbox), where does the {a} (red bbox) lie compared with the {d} (yellow bbox)?",
        "Picture yourself at the {b} (green bbox) looking toward the {c} (blue bbox). From there, how is the {a} (red bbox) positioned relative to the {d} (yellow bbox)?",
        "The observer moves to the {b} (green bbox) and faces the {c} (blue bbox). What is the spatial relationship of the {a} (red bbox) to the {d} (yellow bbox) now?",
    ],
    "volume:fill": [
        "What is the {q} of the {a} (red bbox) in {unit}?",
        "Estimate the {q} of the {a} (red bbox), in {unit}.",
        "How large is the {q} of the {a} (red bbox)? Give it in {unit}.",
        "Determine the {q} of the {a} (red bbox) measured in {unit}.",
        "Measured in {unit}, what is the {q} of the {a} (red bbox)?",
        "Work out the {q} of the {a} (red bbox) from its 3D bounding box, in {unit}.",
        "Judging from its 3D bounding box, what is the {q} of the {a} (red bbox) in {unit}?",
        "Report the {q} of the {a} (red bbox) in {unit}.",
    ],
    "volume:sentence": [
        "What are the length, width, height and volume of the {a} (red bbox)?",
        "Describe the dimensions and the volume of the {a} (red bbox).",
        "How big is the {a} (red bbox)? Give its length, width, height and volume.",
        "Estimate the size of the {a} (red bbox): its length, width, height and volume.",
        "Measure the {a} (red bbox): how long, wide and high is it, and what volume does it occupy?",
        "Work out the 3D box dimensions of the {a} (red bbox) and its volume.",
        "What space does the {a} (red bbox) take up? State its length, width, height and volume.",
        "Give the length, width and height of the {a} (red bbox) and the volume they enclose.",
    ],
    "posmatch": [
        "Given the {a} (red bbox) in the first image, find its location in the second image.",
        "The {a} is marked with a red bbox in the first image. Where does it appear in the second image?",
        "Locate the {a} (red bbox) of the first image in the second image.",
        "What is the bounding box of the {a} (red bbox in the first image) in the second image?",
        "Find the same {a} that is outlined in red in the first image within the second image.",
        "In the second image, where is the {a} that the red bbox marks in the first image?",
        "Track the {a} (red bbox) from the first image to the second image and give its box there.",
        "Which region of the second image contains the {a} highlighted by the red bbox in the first image?",
    ],
    "cammotion": [
        "Estimate the image-plane location and depth in meters of the second image's observer as it appears in the first image's coordinate space.",
        "Where would the second image's observer be seen in the first image's space? Provide 2D image-plane coordinates and depth in meters.",
        "How does the camera's movement between the two images affect its position in the first image? Provide image-plane coordinates and depth in meters.",
        "Project the camera of the second image into the first image: what are its image coordinates and its depth in meters?",
        "If the camera that took the second image were visible in the first image, where would it appear, and how deep would it be?",
        "Locate the viewpoint of the second image within the first image, giving its 2D coordinates and its depth in meters.",
        "Seen from the first camera, at which image position and depth is the second camera?",
        "Determine where the second photo was taken from, expressed as a position in the first image plus a depth in meters.",
    ],
    "viewchange": [
        "If starting from the first image, how would the observer's camera need to move to recreate the second image?",
        "What changes in position or angle would the camera need to make to transition from the first image to the second?",
        "Describe the camera motion that takes the viewpoint of the first image to that of the second image.",
        "How did the camera move and turn between taking the first image and the second image?",
        "Starting at the first view, what translation and rotation of the camera produce the second view?",
        "Infer the change of viewpoint from the first image to the second: how far did the camera move and how much did it rotate?",
        "To go from the first image's viewpoint to the second image's, how must the camera be shifted and rotated?",
        "Estimate the camera's movement and rotation between the first and the second image.",
    ],
}

ANSWERS: dict[str, list[str]] = {
    "depth_oc": [
        "The {b}'s central depth is estimated to be about {val} meters.",
        "With a central depth of {val} meters, the {b} is referenced here.",
        "The {b} lies at a depth of roughly {val} meters.",
        "Measured along the viewing axis, the {b} is about {val} meters deep.",
        "The center of the {b} sits at a depth of {val} meters.",
    ],
    "depth_oo": [
        "The {c} is about {val} meters {dir} than the {b}.",
        "The depth difference is {val} meters: the {c} lies {dir} than the {b}.",
        "Compared with the {b}, the {c} is {val} meters {dir}.",
        "Along the viewing axis the {c} sits {val} meters {dir} than the {b}.",
    ],
    "dist_oc": [
        "The {a} is about {val} meters from the camera.",
        "The distance from the camera to the {a} is roughly {val} meters.",
        "Roughly {val} meters separate the camera and the {a}.",
        "The {a} stands about {val} meters away from the observer.",
    ],
    "dist_oo": [
        "The {a} and the {b} are about {val} meters apart.",
        "The distance between the {a} and the {b} is roughly {val} meters.",
        "Roughly {val} meters separate the {a} from the {b}.",
        "The centers of the {a} and the {b} lie about {val} meters apart.",
    ],
    "distI_oc": [
        "The {a} is {da} meters from the camera and the {b} is {db} meters, so the {ans} is {cf}.",
        "The {ans} is {cf}: the {a} lies {da} meters away and the {b} {db} meters.",
        "Measured from the camera, the {a} is at {da} meters and the {b} at {db} meters; hence the {ans} is {cf}.",
        "With distances of {da} meters ({a}) and {db} meters ({b}), the {ans} is {rel} the camera.",
    ],
    "distI_oo": [
        "The proximity of the {a} to the {b} is {db} meters, and to the {c}, it is {dc} meters. Hence, the {ans} is {rel} the {a}.",
        "The {b} is {db} meters from the {a} and the {c} is {dc} meters from it, so the {ans} is {cf}.",
        "Measured from the {a}, the {b} lies at {db} meters and the {c} at {dc} meters; the {ans} is therefore {cf}.",
        "The {ans} is {rel} the {a}: the distances are {db} meters for the {b} and {dc} meters for the {c}.",
    ],
    "rel_oo": [
        "Relative to the {b}, the {a} is {desc}.",
        "From the camera's view, the {a} appears {desc} compared with the {b}.",
        "The {a} lies {desc} relative to the {b}.",
        "Seen from the observer, the {a} is {desc} with respect to the {b}.",
    ],
    "rel_oc": [
        "Relative to the observer's placement, the {a} appears {desc}.",
        "From the main viewpoint, the {a} is {desc}.",
        "The {a} lies {desc} relative to the observer.",
        "Seen from the observer of the main view, the {a} is {desc}.",
    ],
    "imag_oc": [
        "Initially, the {a} appears {desc0} relative to the observer. After moving to the {b} and orienting toward the {c}, the {a} is {desc}.",
        "Before the move the {a} is {desc0}; once the observer stands at the {b} facing the {c}, it is {desc}.",
        "From the new viewpoint at the {b}, looking at the {c}, the {a} is {desc} (it was {desc0} before).",
        "After the observer moves to the {b} and faces the {c}, the {a}, which was {desc0} before, is now {desc}.",
    ],
    "imag_oo": [
        "Initially, the {a} is {desc0} relative to the {d}. After moving to the {b} and facing the {c}, the {a} is {desc} relative to the {d}.",
        "Before the move the {a} lies {desc0} compared with the {d}; from the {b} facing the {c}, it is {desc}.",
        "From the new viewpoint at the {b}, looking at the {c}, the {a} is {desc} relative to the {d} (it was {desc0} before).",
        "Once the observer stands at the {b} facing the {c}, the {a} is {desc} with respect to the {d}; initially it was {desc0}.",
    ],
    "volume": [
        "The {a} is about {l} cm long, {w} cm wide and {h} cm high, so its volume is about {v} cubic centimeters.",
        "Its 3D box measures {l} cm by {w} cm by {h} cm (length, width, height), a volume of about {v} cubic centimeters.",
        "The {a} has a length of {l} cm, a width of {w} cm and a height of {h} cm; together they enclose about {v} cubic centimeters.",
        "Length {l} cm, width {w} cm, height {h} cm: the {a} occupies roughly {v} cubic centimeters.",
    ],
    "posmatch": [
        "In the second image the {a} is at {box}.",
        "The {a} appears in the second image within the box {box}.",
        "Its location in the second image is {box}.",
        "The second image shows the {a} inside {box}.",
    ],
    "cammotion": [
        "Relative to the first image, the second image's observer occupies the position {uv}, at a depth of {depth} meters.",
        "The second camera would appear at {uv} in the first image, {depth} meters deep.",
        "Seen from the first view, the second observer sits at image position {uv} with a depth of {depth} meters.",
        "The second viewpoint projects to {uv} in the first image, at a depth of {depth} meters.",
    ],
    "viewchange": [
        "To realign the second image, the camera moves {mx} meters {dx}, {my} meters {dy} and {mz} meters {dz}, then rotates {dp} by {pitch} degrees and turns {dyaw} by {yaw} degrees.",
        "The camera movement is as follows: move {mz} meters {dz}, shift sideways by {mx} meters {dx}, move {my} meters {dy}, rotate {dp} by {pitch} degrees and turn {dyaw} by {yaw} degrees.",
        "From the first view the camera travels {mx} meters {dx}, {my} meters {dy} and {mz} meters {dz}; it pitches {dp} {pitch} degrees and yaws {dyaw} {yaw} degrees.",
        "Going from the first image to the second, the camera shifts {mx} meters {dx}, {my} meters {dy}, {mz} meters {dz}, tilts {dp} by {pitch} degrees and turns {dyaw} by {yaw} degrees.",
    ],
}

MV_NOTES: dict[str, list[str]] = {
    # the release's sentence, verbatim from a public SPAR-7M depth_prediction_oo_mv row (docs/tasks.md)
    "depth": ["The depth is calculated based on the image where the markers corresponding to these objects are located."],
    "view": [
        "We use the first image to reflect the main perspective, which aligns with the observer's viewpoint.",
        "The first image is positioned to serve as the main viewpoint for the observer.",
        "Treat the first image as the observer's main view.",
        "The camera of the first image is the observer's reference viewpoint.",
    ],
    "imag": [
        "Base your response on the observer's perspective, with the first image defined as the primary view before movement begins.",
        "Frame your answer with the observer's perspective, assigning the first image as the main view before any motion.",
        "The first image shows the observer's main view before moving.",
        "Before moving, the observer sees the scene as in the first image.",
    ],
}

RELATION_EXPLAIN_OC = (
    "The options describe the spatial relationship between object and observer in terms of left-right (left, right, "
    "or empty if indistinguishable), above-below (above, below, or empty if indistinguishable), and front-behind "
    "(front, behind, or empty if indistinguishable)."
)
RELATION_EXPLAIN_OO = (
    "The options describe the spatial relationship between the two objects in terms of left-right (left, right, or "
    "empty if indistinguishable), above-below (above, below, or empty if indistinguishable), and near-far from the "
    "camera (closer, farther, or empty if indistinguishable)."
)
AFTER_MOVE = "For multiple-choice questions, consider only the state after the observer has moved."

# sentences between a select question and its lead, one line each. position_matching and
# camera_motion_infer have none: lmms-eval's sparbench adds the 0-1000 coordinate sentence itself.
SELECT_NOTES: dict[str, tuple[str, ...]] = {
    "rel_oc": (RELATION_EXPLAIN_OC,),
    "rel_oo": (RELATION_EXPLAIN_OO,),
    "imag_oc": (AFTER_MOVE, RELATION_EXPLAIN_OC),
    "imag_oo": (AFTER_MOVE, RELATION_EXPLAIN_OO),
}

SELECT_LEAD = [
    "Please select the correct option from the choices provided.",
    "Select the correct response from the given choices.",
    "Pick the appropriate answer from the options given.",
    "Choose the correct response from the given choices.",
    "Select the appropriate option from the given choices.",
    "Select the right option from the choices provided.",
    "Pick the appropriate option from the choices available.",
    "Choose the right answer among the options below.",
]

FILL: dict[str, list[str]] = {
    "number": [
        "Ensure your answer contains only one number.",
        "Provide a numeric response with just one value.",
        "Type in exactly one number as your reply.",
        "Submit your response as one numeric value only.",
        "Reply with a single number.",
        "Answer with one number only.",
        "Give only one number as the answer.",
        "Respond with just one numeric value.",
    ],
    "name": [
        "Submit your response as the name of one object exclusively.",
        "Answer with the name of one object only.",
        "Reply with just the object's name.",
        "Give only the name of the object as your answer.",
        "Respond with a single object name.",
        "Your answer should be the name of one object and nothing else.",
        "Type only the name of the object.",
        "Provide just one object name as the answer.",
    ],
    "box": [
        "Answer with the bounding box only, as [x1, y1, x2, y2] in 0-1000 normalized coordinates.",
        "Reply with just the box [x1, y1, x2, y2], coordinates normalized to 0-1000 with the origin at the top-left.",
        "Give only the bounding box in the form [x1, y1, x2, y2] on a 0-1000 scale.",
        "Provide the box as [x1, y1, x2, y2] (0-1000, top-left origin) and nothing else.",
    ],
    "camera": [
        "Please ensure your answer is limited to a 2D coordinate and a depth, for instance: (500, 500), 1.2.",
        "Answer only with the 0-1000 image coordinate and the depth, in the form (u, v), depth, e.g. (350, 620), 2.4.",
        "Reply with just a 2D coordinate on a 0-1000 scale and a depth in meters, like (120, 480), 3.1.",
        "Give only the image coordinate (0-1000) and the depth, for example (700, 300), 1.8.",
    ],
    "viewchange": [
        "Provide the camera movement and rotation in the following format: move_right:<meters>,move_up:<meters>,"
        "move_forward:<meters>,rotate_up:<degrees>,rotate_right:<degrees>, writing each key with the direction "
        "that applies (right or left, up or down, forward or backward, up or down, right or left), meters with one "
        "decimal and whole degrees, separated by commas, with no spaces and no additional text. "
        "Example: move_left:2.6,move_down:0.1,move_forward:0.2,rotate_up:10,rotate_left:0.",
        "Answer in exactly this form, with no spaces and nothing else: move_<right|left>:<m>,move_<up|down>:<m>,"
        "move_<forward|backward>:<m>,rotate_<up|down>:<deg>,rotate_<right|left>:<deg> (meters with one decimal, "
        "whole degrees). Example: move_right:1.2,move_up:0.4,move_forward:1.4,rotate_up:5,rotate_left:90.",
    ],
}

SENTENCE_INSTR = [
    "Answer in a complete sentence.",
    "Reply with a full sentence.",
    "Explain your answer in one or two sentences.",
    "Respond in natural language.",
    "Give your answer as a short sentence.",
    "Describe the answer in a sentence.",
]

JUDGE_INSTR = [
    "Answer with Yes or No only.",
    "Reply with Yes or No.",
    "Respond with a single word: Yes or No.",
    "Your answer can only be Yes or No.",
]
