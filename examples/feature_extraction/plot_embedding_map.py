"""
A 2-D map of image embeddings
=============================

What does a pretrained network "see"? We cut small patches out of six photos
that ship with scikit-image (a brick wall, grass, gravel, the moon's surface,
a stained tissue sample and a printed page: six materials), embed each patch
with the frozen EfficientNet-Lite0 of :class:`~sktransfer.ImageEmbedder`
(ImageNet weights shipped in an installed package) and draw the
1,280-dimensional embeddings in two dimensions with t-SNE, coloured by
material. The same map of the raw pixels is drawn beside it. No label is used
to build either map: the colours are added afterwards.

Patches are cut at random positions, sizes and orientations, and all in
grayscale, so that neither position nor colour gives the material away: only
texture does.
"""

# %%
# The patches
# -----------
import matplotlib.pyplot as plt
import numpy as np
from matplotlib.offsetbox import AnnotationBbox, OffsetImage
from PIL import Image
from skimage import data
from skimage.color import rgb2gray
from sklearn.manifold import TSNE
from sklearn.model_selection import cross_val_score
from sklearn.neighbors import KNeighborsClassifier
from sklearn.preprocessing import StandardScaler

from sktransfer import ImageEmbedder

sources = {
    "brick": data.brick(),
    "grass": data.grass(),
    "gravel": data.gravel(),
    "moon": data.moon(),
    "tissue": (rgb2gray(data.immunohistochemistry()) * 255).astype(np.uint8),
    "print": data.page(),
}
rng = np.random.default_rng(0)
patches, materials = [], []
for name, photo in sources.items():
    for _ in range(30):
        size = rng.integers(48, 96)
        top = rng.integers(0, photo.shape[0] - size)
        left = rng.integers(0, photo.shape[1] - size)
        patch = np.rot90(photo[top : top + size, left : left + size], rng.integers(4))
        # one common size, so that raw pixels can be compared too
        patches.append(np.asarray(Image.fromarray(patch).resize((48, 48))))
        materials.append(name)
patches, materials = np.stack(patches), np.array(materials)
names = list(sources)
print(patches.shape, "patches:", ", ".join(f"30 of {name}" for name in names))

# %%
# Embeddings, then t-SNE
# ----------------------
# ``ImageEmbedder`` takes the uint8 array as it is: each grayscale patch is
# converted to RGB, resized to 224 px and normalised as the weights expect.
embeddings = ImageEmbedder().fit_transform(patches)
print("embeddings:", embeddings.shape)

spaces = {
    "raw pixels (2,304-d)": patches.reshape(len(patches), -1) / 255.0,
    "EfficientNet-Lite0 features (1,280-d)": embeddings,
}
maps = {
    name: TSNE(perplexity=20, init="pca", random_state=0).fit_transform(
        StandardScaler().fit_transform(features)
    )
    for name, features in spaces.items()
}

# %%
# Both maps, coloured by material, with two patches of each material drawn
# where they land (framed in their material's colour).
fig, axes = plt.subplots(1, 2, figsize=(12, 5.5))
colors = plt.cm.tab10(np.arange(len(names)))
# two patches of each material, drawn where they land
shown = [
    i
    for m in names
    for i in rng.choice(np.flatnonzero(materials == m), 2, replace=False)
]
for ax, (name, points) in zip(axes, maps.items(), strict=True):
    for k, material in enumerate(names):
        ax.scatter(
            *points[materials == material].T, s=16, color=colors[k], label=material
        )
    for i in shown:
        thumbnail = OffsetImage(patches[i], cmap="gray", zoom=0.55)
        color = colors[names.index(materials[i])]
        box = AnnotationBbox(thumbnail, points[i], pad=0.15, bboxprops={"ec": color})
        ax.add_artist(box)
    ax.set_title(f"t-SNE of {name}")
    ax.set_xticks([])
    ax.set_yticks([])
axes[1].legend(title="material", loc="center left", bbox_to_anchor=(1.0, 0.5))
fig.tight_layout()

# %%
# On the pixels, most materials are mixed (only the print and the tissue,
# whose brightness differs, gather somewhat): two crops of a brick wall share
# no pixel values at the same positions. The pretrained features describe
# texture wherever it is, so each material forms its own group.
#
# A map can mislead (t-SNE keeps neighbourhoods, not distances), so we also
# measure in the original spaces how often a patch's nearest neighbours are of
# its material: the cross-validated accuracy of a 5-nearest-neighbour
# classifier.
for name, features in spaces.items():
    knn = KNeighborsClassifier(n_neighbors=5)
    score = cross_val_score(knn, features, materials, cv=5).mean()
    print(f"{name:>38}: 5-NN accuracy {score:.3f}")
